//! The embedded ticket store: SQLite (bundled) in the data directory, WAL mode with full
//! synchronisation, schema migrations, one transaction per change. A ticket is on disk
//! before [`TicketStore::create`] returns.

use crate::{author_columns, author_of, check_action, list_query, parse_id, ticket_id, Delivery};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use switchboard_core::tickets::{
    AuditEntry, Author, CustomerIdentity, Escalation, NewTicket, StaffAction, Ticket, TicketError,
    TicketFilter, TicketHead, TicketStatus, TicketStore, TranscriptEntry,
};

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: [&str; crate::SCHEMA_VERSION] = [
    "CREATE TABLE tickets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        customer_id TEXT NOT NULL,
        adapter TEXT NOT NULL,
        user_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        conversation TEXT NOT NULL,
        queue TEXT NOT NULL,
        status TEXT NOT NULL,
        assignee TEXT,
        findings TEXT NOT NULL,
        due TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX tickets_customer ON tickets(customer_id, seq);
    CREATE TABLE transcript (
        ticket INTEGER NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        author TEXT NOT NULL,
        staff_user TEXT,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (ticket, pos)
    );
    CREATE TABLE escalations (
        ticket INTEGER NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (ticket, pos)
    );
    CREATE TABLE audit (
        ticket INTEGER NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        at TEXT NOT NULL
    );",
    // The adapters' outbox: what each adapter delivered for a ticket (its staff thread, that
    // staff were notified), so a restart finishes what a crash interrupted. Tickets from before
    // count as delivered.
    "CREATE TABLE deliveries (
        ticket INTEGER NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        adapter TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (ticket, adapter, key)
    );
    INSERT INTO deliveries (ticket, adapter, key, value, at)
        SELECT seq, adapter, 'staff-notified:' || queue, 'before the outbox', updated_at FROM tickets;
    INSERT INTO deliveries (ticket, adapter, key, value, at)
        SELECT seq, adapter, 'customer-told', 'before the outbox', updated_at FROM tickets;",
    // Staff replies are looked up on every chat line and live poll: by this index, without
    // walking the customers' and the bot's entries.
    "CREATE INDEX IF NOT EXISTS transcript_staff ON transcript(ticket, pos) WHERE author = 'staff';",
    // Adapters now relay staff messages written anywhere, counting per ticket what the customer
    // got; the staff messages of tickets from before were relayed already.
    "INSERT OR IGNORE INTO deliveries (ticket, adapter, key, value, at)
        SELECT seq, adapter, 'staff-replies',
               (SELECT COUNT(*) FROM transcript WHERE ticket = seq AND author = 'staff'), updated_at
        FROM tickets;",
    // The sender's id of a message: sent again, it is stored once per ticket.
    "ALTER TABLE transcript ADD COLUMN client_id TEXT;
    CREATE UNIQUE INDEX transcript_client_id ON transcript(ticket, client_id) WHERE client_id IS NOT NULL;",
    // A conversation that has no ticket yet, kept where several processes share the store.
    "CREATE TABLE conversations (customer_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);",
];

/// The queries every customer message and live poll runs (see
/// [`SqliteTicketStore::per_message_query_plans`]).
const LATEST_OF_CUSTOMER: &str = "SELECT seq, status, queue, due FROM tickets WHERE customer_id = ?1 AND (status != 'resolved' OR updated_at >= ?2) ORDER BY seq DESC LIMIT 1";
const CUSTOMER_TICKETS: &str = "SELECT seq FROM tickets WHERE customer_id = ?1 ORDER BY seq";
const STAFF_OF_TICKET: &str =
    "SELECT staff_user, text, at FROM transcript WHERE ticket = ?1 AND author = 'staff' ORDER BY pos";

/// Reading connections beside the writing one (one per core of the machines this runs on).
const READERS: usize = 2;

/// The SQLite ticket store.
pub struct SqliteTicketStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Connections for reading: in WAL mode they read the last commit while the writer holds
    /// its connection through a transaction and its fsync, so a chat's lookups never queue
    /// behind another customer's ticket being written. Empty when the store is read-only.
    readers: Vec<Mutex<Connection>>,
    /// Why the database was opened for reading only (every write fails with it).
    read_only: Option<String>,
}

impl std::fmt::Debug for SqliteTicketStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTicketStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn map_err(path: &Path, e: &rusqlite::Error) -> TicketError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => TicketError::Busy,
        Some(
            ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied
            | ErrorCode::DiskFull
            // A full disk shows as an I/O error where SQLite cannot grow its shared-memory file.
            | ErrorCode::SystemIoFailure,
        ) => TicketError::ReadOnly {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
        _ => TicketError::Store(e.to_string()),
    }
}

/// Creates the database file readable by its owner only (0600), if it does not exist yet;
/// SQLite gives its `-wal` and `-shm` files the same permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteTicketStore {
    /// Opens (creating and migrating) the database at `path`. Where it exists but cannot be
    /// written (a read-only data directory, a full disk), it is opened for reading: staff can
    /// still list and read tickets, and every write fails with [`TicketError::ReadOnly`].
    pub fn open(path: &Path) -> Result<Self, TicketError> {
        match Self::open_read_write(path) {
            Err(TicketError::ReadOnly { path: p, reason }) if path.is_file() => {
                Self::open_read_only(path, &reason).map_err(|_| TicketError::ReadOnly { path: p, reason })
            }
            other => other,
        }
    }

    /// Opens an existing, current database without writing anything: through SQLite's read-only
    /// mode, else as immutable (a read-only medium where the write-ahead log's index cannot be
    /// created; nothing can change the file there).
    /// Every write then fails with `why` (the reason writing was not possible).
    fn open_read_only(path: &Path, why: &str) -> Result<Self, TicketError> {
        use rusqlite::OpenFlags;
        let encoded = path
            .to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        let mut last = None;
        for uri in [
            format!("file:{encoded}?mode=ro"),
            format!("file:{encoded}?immutable=1"),
        ] {
            let opened = Connection::open_with_flags(
                &uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
            .and_then(|conn| {
                let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                Ok((conn, version))
            });
            match opened {
                Ok((conn, version)) if version as usize >= MIGRATIONS.len() => {
                    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| map_err(path, &e))?;
                    return Ok(SqliteTicketStore {
                        path: path.to_path_buf(),
                        conn: Mutex::new(conn),
                        readers: Vec::new(),
                        read_only: Some(why.to_string()),
                    });
                }
                Ok(_) => {
                    return Err(TicketError::ReadOnly {
                        path: path.display().to_string(),
                        reason: "the database needs an upgrade, which needs writing".into(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or(TicketError::Store("cannot open".into()), |e| map_err(path, &e)))
    }

    fn open_read_write(path: &Path) -> Result<Self, TicketError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| TicketError::ReadOnly {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        create_private(path).map_err(|e| TicketError::ReadOnly {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let conn = Connection::open(path).map_err(|e| map_err(path, &e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| map_err(path, &e))?;
        // WAL with FULL sync: a committed ticket survives a crash or power loss. Deleted content
        // is overwritten, not merely unlinked (`secure_delete`): an erased customer's words do
        // not linger in free pages.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .map_err(|e| map_err(path, &e))?;
        let mut store = SqliteTicketStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            readers: Vec::new(),
            read_only: None,
        };
        store.migrate()?;
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| map_err(path, &e))?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(|e| map_err(path, &e))?;
            store.readers.push(Mutex::new(reader));
        }
        Ok(store)
    }

    /// How SQLite runs the queries of every customer message and live poll (`EXPLAIN QUERY
    /// PLAN`): each must search an index, never scan a table, so a chat line costs the same
    /// with one ticket in the database or a hundred thousand.
    pub fn per_message_query_plans(&self) -> Result<Vec<(&'static str, String)>, TicketError> {
        self.read(|c| {
            let mut plans = Vec::new();
            for sql in [LATEST_OF_CUSTOMER, CUSTOMER_TICKETS, STAFF_OF_TICKET] {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let count = stmt.parameter_count();
                let args: Vec<String> = vec![String::new(); count];
                let detail = stmt
                    .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(3))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
                    .join("; ");
                plans.push((sql, detail));
            }
            Ok(plans)
        })
    }

    /// Every outbox row, oldest ticket first (what a copy to another store carries over).
    pub fn all_deliveries(&self) -> Result<Vec<Delivery>, TicketError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT ticket, adapter, key, value, at FROM deliveries ORDER BY ticket, adapter, key",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Delivery {
                    ticket: ticket_id(r.get(0)?),
                    adapter: r.get(1)?,
                    key: r.get(2)?,
                    value: r.get(3)?,
                    at: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&self) -> Result<(), TicketError> {
        // Read first: a database that is current is opened without a write, so a read-only
        // data directory (or a full disk) still lets staff list and read tickets.
        let version: usize =
            self.read(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))? as usize;
        if version >= MIGRATIONS.len() {
            return Ok(());
        }
        self.write(|tx| {
            let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
                tx.execute_batch(sql)?;
                tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            }
            Ok(())
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T, TicketError> {
        if let Some(reason) = &self.read_only {
            return Err(TicketError::ReadOnly {
                path: self.path.display().to_string(),
                reason: reason.clone(),
            });
        }
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&self.path, &e))?;
        let out = f(&tx).map_err(|e| map_err(&self.path, &e))?;
        tx.commit().map_err(|e| map_err(&self.path, &e))?;
        Ok(out)
    }

    /// After deleting: the overwritten pages are copied from the write-ahead log into the
    /// database and the log is emptied, then the file is rebuilt without the freed pages, so
    /// nothing deleted stays on disk.
    fn scrub(&self) -> Result<(), TicketError> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| map_err(&self.path, &e))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, TicketError> {
        // A free reader, else wait for the first (or the only connection, read-only).
        let free = self.readers.iter().find_map(|r| r.try_lock().ok());
        let conn = match free {
            Some(conn) => conn,
            None => self
                .readers
                .first()
                .unwrap_or(&self.conn)
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        f(&conn).map_err(|e| map_err(&self.path, &e))
    }

    fn load(conn: &Connection, seq: i64) -> rusqlite::Result<Option<Ticket>> {
        let row = conn
            .prepare_cached(
                "SELECT customer_id, adapter, user_id, display_name, conversation, queue, status, assignee, findings, due, created_at, updated_at FROM tickets WHERE seq = ?1",
            )?
            .query_row(
                [seq],
                |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, String>(11)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            adapter,
            user_id,
            display_name,
            conversation,
            queue,
            status,
            assignee,
            findings,
            due,
            created_at,
            updated_at,
        )) = row
        else {
            return Ok(None);
        };
        let mut stmt = conn.prepare_cached(
            "SELECT author, staff_user, text, at, client_id FROM transcript WHERE ticket = ?1 ORDER BY pos",
        )?;
        let transcript = stmt
            .query_map([seq], |r| {
                let author = author_of(&r.get::<_, String>(0)?, r.get(1)?);
                Ok(TranscriptEntry {
                    author,
                    text: r.get(2)?,
                    at: r.get(3)?,
                    id: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt =
            conn.prepare_cached("SELECT detail FROM escalations WHERE ticket = ?1 ORDER BY pos")?;
        let escalations = stmt
            .query_map([seq], |r| r.get::<_, String>(0))?
            .filter_map(|d| d.ok().and_then(|d| serde_json::from_str(&d).ok()))
            .collect();
        let mut stmt =
            conn.prepare_cached("SELECT actor, action, at FROM audit WHERE ticket = ?1 ORDER BY rowid")?;
        let audit = stmt
            .query_map([seq], |r| {
                Ok(AuditEntry {
                    actor: r.get(0)?,
                    action: r.get(1)?,
                    at: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(Ticket {
            id: ticket_id(seq),
            customer: CustomerIdentity {
                adapter,
                user_id,
                display_name,
            },
            conversation,
            queue,
            status: TicketStatus::parse(&status).unwrap_or(TicketStatus::Open),
            assignee,
            transcript,
            findings: serde_json::from_str(&findings).unwrap_or(serde_json::Value::Null),
            due,
            escalations,
            audit,
            created_at,
            updated_at,
        }))
    }

    fn push_entry(tx: &Transaction<'_>, seq: i64, entry: &TranscriptEntry) -> rusqlite::Result<()> {
        let (author, staff_user) = author_columns(entry);
        tx.prepare_cached(
            "INSERT INTO transcript (ticket, pos, author, staff_user, text, at, client_id)
             VALUES (?1, (SELECT COALESCE(MAX(pos), -1) + 1 FROM transcript WHERE ticket = ?1), ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![seq, author, staff_user, entry.text, entry.at, entry.id])?;
        Ok(())
    }

    /// Whether the ticket holds one of `entries` already (by the sender's id): a message sent
    /// again is not stored again, nor what was written with it.
    fn already_stored(tx: &Transaction<'_>, seq: i64, entries: &[TranscriptEntry]) -> rusqlite::Result<bool> {
        for id in entries.iter().filter_map(|e| e.id.as_deref()) {
            let found = tx
                .prepare_cached("SELECT 1 FROM transcript WHERE ticket = ?1 AND client_id = ?2")?
                .exists(params![seq, id])?;
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn audit(tx: &Transaction<'_>, seq: i64, actor: &str, action: &str, at: &str) -> rusqlite::Result<()> {
        tx.prepare_cached("INSERT INTO audit (ticket, actor, action, at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![seq, actor, action, at])?;
        Self::touch(tx, seq, at)
    }

    /// Marks a ticket changed at `at`. The statements of every chat line are prepared once per
    /// connection: parsing their SQL was about a fifth of the database's time in a profile of
    /// the web load bench.
    fn touch(tx: &Transaction<'_>, seq: i64, at: &str) -> rusqlite::Result<()> {
        tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE seq = ?1")?
            .execute(params![seq, at])?;
        Ok(())
    }

    fn get_seq(&self, seq: i64, id: &str) -> Result<Ticket, TicketError> {
        self.read(|c| Self::load(c, seq))?
            .ok_or_else(|| TicketError::NotFound(id.to_string()))
    }

    /// `create`, with the bot's reply (naming the ticket) written in the same transaction.
    fn create_inner(
        &self,
        t: &NewTicket,
        now: &str,
        reply: Option<&dyn Fn(&str) -> TranscriptEntry>,
    ) -> Result<Ticket, TicketError> {
        let findings = t.findings.to_string();
        let seq = self.write(|tx| {
            // Find or create, in one transaction: two handoffs of the same customer at once (a
            // double send, two processes) give one open ticket; the second one's message is
            // added to it.
            let open: Option<i64> = tx
                .prepare_cached(
                    "SELECT seq FROM tickets WHERE customer_id = ?1 AND status != 'resolved' ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([t.customer.customer_id()], |r| r.get(0))
                .optional()?;
            if let Some(seq) = open {
                let last = t.transcript.last().map(std::slice::from_ref).unwrap_or_default();
                if Self::already_stored(tx, seq, last)? {
                    return Ok(seq);
                }
                for entry in last {
                    Self::push_entry(tx, seq, entry)?;
                }
                Self::audit(tx, seq, "bot", &format!("another handoff (queue {}) added to this open ticket", t.queue), now)?;
                if let Some(reply) = reply {
                    Self::push_entry(tx, seq, &reply(&ticket_id(seq)))?;
                }
                Self::touch(tx, seq, now)?;
                return Ok(seq);
            }
            tx.execute(
                "INSERT INTO tickets (customer_id, adapter, user_id, display_name, conversation, queue, status, findings, due, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?9)",
                params![t.customer.customer_id(), t.customer.adapter, t.customer.user_id, t.customer.display_name, t.conversation, t.queue, findings, t.due, now],
            )?;
            let seq = tx.last_insert_rowid();
            for entry in &t.transcript {
                Self::push_entry(tx, seq, entry)?;
            }
            Self::audit(tx, seq, "bot", &format!("opened for queue {}", t.queue), now)?;
            if let Some(reply) = reply {
                Self::push_entry(tx, seq, &reply(&ticket_id(seq)))?;
            }
            Ok(seq)
        })?;
        self.get_seq(seq, &ticket_id(seq))
    }
}

impl TicketStore for SqliteTicketStore {
    fn create(&self, t: NewTicket, now: &str) -> Result<Ticket, TicketError> {
        self.create_inner(&t, now, None)
    }

    fn create_with_reply(
        &self,
        t: NewTicket,
        now: &str,
        reply: &dyn Fn(&str) -> TranscriptEntry,
    ) -> Result<Ticket, TicketError> {
        self.create_inner(&t, now, Some(reply))
    }

    fn get(&self, id: &str) -> Result<Ticket, TicketError> {
        self.get_seq(parse_id(id)?, id)
    }

    fn list(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, TicketError> {
        let (sql, params) = list_query(filter, |n| format!("?{n}"));
        let seqs: Vec<i64> = self.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        seqs.into_iter()
            .map(|seq| self.get_seq(seq, &ticket_id(seq)))
            .collect()
    }

    fn staff_messages(&self, customer_id: &str) -> Result<Vec<(String, Vec<TranscriptEntry>)>, TicketError> {
        self.read(|c| {
            let mut out: Vec<(String, Vec<TranscriptEntry>)> = Vec::new();
            let mut tickets = c.prepare_cached(CUSTOMER_TICKETS)?;
            let seqs = tickets
                .query_map([customer_id], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            let mut staff = c.prepare_cached(STAFF_OF_TICKET)?;
            for seq in seqs {
                let entries = staff
                    .query_map([seq], |r| {
                        Ok(TranscriptEntry {
                            author: Author::Staff {
                                user: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                            },
                            text: r.get(1)?,
                            at: r.get(2)?,
                            id: None,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push((ticket_id(seq), entries));
            }
            Ok(out)
        })
    }

    fn latest_for_customer(
        &self,
        customer_id: &str,
        resolved_since: &str,
    ) -> Result<Option<TicketHead>, TicketError> {
        // Asked on every customer message: the id, status, queue and due time only, not the
        // whole ticket.
        let head: Option<(i64, String, String, Option<String>)> = self.read(|c| {
            c.prepare_cached(LATEST_OF_CUSTOMER)?
                .query_row(params![customer_id, resolved_since], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
        })?;
        head.map(|(seq, status, queue, due)| {
            Ok(TicketHead {
                id: ticket_id(seq),
                queue,
                due,
                status: TicketStatus::parse(&status)
                    .ok_or_else(|| TicketError::Store(format!("ticket {seq} has status `{status}`")))?,
            })
        })
        .transpose()
    }

    fn append(&self, id: &str, entry: TranscriptEntry, reopen: bool) -> Result<Ticket, TicketError> {
        self.append_all(id, std::slice::from_ref(&entry), reopen)?;
        self.get(id)
    }

    fn append_all(&self, id: &str, entries: &[TranscriptEntry], reopen: bool) -> Result<(), TicketError> {
        let seq = parse_id(id)?;
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let at = entries.last().map_or(&first.at, |e| &e.at);
        self.write(|tx| {
            let exists: Option<String> = tx
                .prepare_cached("SELECT status FROM tickets WHERE seq = ?1")?
                .query_row([seq], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Ok(false);
            }
            if Self::already_stored(tx, seq, entries)? {
                return Ok(true);
            }
            for entry in entries {
                Self::push_entry(tx, seq, entry)?;
            }
            if reopen && exists.as_deref() == Some("resolved") {
                tx.execute(
                    "UPDATE tickets SET status = 'open', assignee = NULL WHERE seq = ?1",
                    [seq],
                )?;
                Self::audit(tx, seq, "customer", "reopened by a new message", &first.at)?;
            } else {
                Self::touch(tx, seq, at)?;
            }
            Ok(true)
        })?
        .then_some(())
        .ok_or_else(|| TicketError::NotFound(id.to_string()))
    }

    fn act(&self, id: &str, actor: &str, action: &StaffAction, now: &str) -> Result<Ticket, TicketError> {
        let seq = parse_id(id)?;
        let ticket = self.get_seq(seq, id)?;
        check_action(id, ticket.status, ticket.assignee.as_deref(), actor, action)?;
        let held_by = self.write(|tx| {
            match action {
                StaffAction::Claim => {
                    // Compare and set, in the transaction: of concurrent claims one wins, and
                    // the others learn who has the ticket.
                    let won = tx.execute(
                        "UPDATE tickets SET status = 'claimed', assignee = ?2 WHERE seq = ?1 AND (assignee IS NULL OR assignee = ?2)",
                        params![seq, actor],
                    )?;
                    if won == 0 {
                        let holder: Option<String> =
                            tx.query_row("SELECT assignee FROM tickets WHERE seq = ?1", [seq], |r| r.get(0))?;
                        return Ok(holder);
                    }
                    Self::audit(tx, seq, actor, "claimed", now)?;
                }
                StaffAction::TakeOver => {
                    let holder: Option<String> =
                        tx.query_row("SELECT assignee FROM tickets WHERE seq = ?1", [seq], |r| r.get(0))?;
                    tx.execute(
                        "UPDATE tickets SET status = 'claimed', assignee = ?2 WHERE seq = ?1",
                        params![seq, actor],
                    )?;
                    let from = holder.unwrap_or_else(|| "nobody".to_string());
                    Self::audit(tx, seq, actor, &format!("took over from {from}"), now)?;
                }
                StaffAction::Reply(text) => {
                    Self::push_entry(tx, seq, &TranscriptEntry { author: Author::Staff { user: actor.to_string() }, text: text.clone(), at: now.to_string(), id: None })?;
                    Self::audit(tx, seq, actor, "replied", now)?;
                }
                StaffAction::Escalate(e) => {
                    let detail = serde_json::to_string(e).expect("escalation serialises");
                    tx.execute(
                        "INSERT INTO escalations (ticket, pos, detail) VALUES (?1, (SELECT COALESCE(MAX(pos), -1) + 1 FROM escalations WHERE ticket = ?1), ?2)",
                        params![seq, detail],
                    )?;
                    if let Escalation::Queue { queue } = e {
                        tx.execute("UPDATE tickets SET queue = ?2, status = 'open', assignee = NULL WHERE seq = ?1", params![seq, queue])?;
                    } else {
                        tx.execute("UPDATE tickets SET status = 'escalated' WHERE seq = ?1", [seq])?;
                    }
                    Self::audit(tx, seq, actor, &e.to_string(), now)?;
                }
                StaffAction::Resolve => {
                    tx.execute("UPDATE tickets SET status = 'resolved' WHERE seq = ?1", [seq])?;
                    Self::audit(tx, seq, actor, "resolved", now)?;
                }
            }
            Ok(None)
        })?;
        if let Some(holder) = held_by {
            return Err(TicketError::InvalidTransition {
                id: id.to_string(),
                status: "claimed",
                action: format!("claim (claimed by {holder})"),
            });
        }
        self.get_seq(seq, id)
    }

    fn purge_resolved_before(&self, cutoff: &str) -> Result<usize, TicketError> {
        let (n, idle) = self.write(|tx| {
            Ok((
                tx.execute(
                    "DELETE FROM tickets WHERE status = 'resolved' AND updated_at < ?1",
                    [cutoff],
                )?,
                tx.execute("DELETE FROM conversations WHERE updated_at < ?1", [cutoff])?,
            ))
        })?;
        if n + idle > 0 {
            self.scrub()?;
        }
        Ok(n)
    }

    fn set_delivery(
        &self,
        id: &str,
        adapter: &str,
        key: &str,
        value: &str,
        now: &str,
    ) -> Result<(), TicketError> {
        let seq = parse_id(id)?;
        let changed = self.write(|tx| {
            tx.execute(
                "INSERT INTO deliveries (ticket, adapter, key, value, at)
                 SELECT seq, ?2, ?3, ?4, ?5 FROM tickets WHERE seq = ?1
                 ON CONFLICT (ticket, adapter, key) DO UPDATE SET value = excluded.value, at = excluded.at",
                params![seq, adapter, key, value, now],
            )
        })?;
        if changed == 0 {
            return Err(TicketError::NotFound(id.to_string()));
        }
        Ok(())
    }

    fn delivery(&self, id: &str, adapter: &str, key: &str) -> Result<Option<String>, TicketError> {
        let seq = parse_id(id)?;
        self.read(|c| {
            c.prepare_cached("SELECT value FROM deliveries WHERE ticket = ?1 AND adapter = ?2 AND key = ?3")?
                .query_row(params![seq, adapter, key], |r| r.get(0))
                .optional()
        })
    }

    fn claim_delivery(
        &self,
        id: &str,
        adapter: &str,
        key: &str,
        holder: &str,
        stale_before: &str,
        now: &str,
    ) -> Result<bool, TicketError> {
        let seq = parse_id(id)?;
        let won = self.write(|tx| {
            tx.execute(
                "INSERT INTO deliveries (ticket, adapter, key, value, at)
                 SELECT seq, ?2, 'claim:' || ?3, ?4, ?6 FROM tickets WHERE seq = ?1
                 ON CONFLICT (ticket, adapter, key) DO UPDATE SET value = excluded.value, at = excluded.at
                 WHERE deliveries.value = excluded.value OR deliveries.at < ?5",
                params![seq, adapter, key, holder, stale_before, now],
            )
        })?;
        Ok(won == 1)
    }

    fn save_conversation(&self, customer_id: &str, state: &str, now: &str) -> Result<(), TicketError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (customer_id, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (customer_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![customer_id, state, now],
            )
        })?;
        Ok(())
    }

    fn conversation(&self, customer_id: &str) -> Result<Option<String>, TicketError> {
        self.read(|c| {
            c.prepare_cached("SELECT state FROM conversations WHERE customer_id = ?1")?
                .query_row([customer_id], |r| r.get(0))
                .optional()
        })
    }

    fn release_delivery(&self, id: &str, adapter: &str, key: &str, holder: &str) -> Result<(), TicketError> {
        let seq = parse_id(id)?;
        self.write(|tx| {
            tx.execute(
                "DELETE FROM deliveries WHERE ticket = ?1 AND adapter = ?2 AND key = 'claim:' || ?3 AND value = ?4",
                params![seq, adapter, key, holder],
            )
        })?;
        Ok(())
    }

    fn deliveries(
        &self,
        adapter: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, String, String)>, TicketError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT ticket, key, value FROM deliveries WHERE adapter = ?1 AND substr(key, 1, length(?2)) = ?2
                 ORDER BY ticket, key",
            )?;
            let rows = stmt.query_map(params![adapter, key_prefix], |r| {
                Ok((ticket_id(r.get(0)?), r.get(1)?, r.get(2)?))
            })?;
            rows.collect()
        })
    }

    fn undelivered(&self, adapter: &str, key: &str) -> Result<Vec<String>, TicketError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT seq FROM tickets t WHERE adapter = ?1 AND status != 'resolved'
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.ticket = t.seq AND d.adapter = ?1
                                 AND d.key = replace(?2, '{queue}', t.queue))
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![adapter, key], |r| Ok(ticket_id(r.get(0)?)))?;
            rows.collect()
        })
    }

    fn erase_customer(&self, customer_id: &str) -> Result<usize, TicketError> {
        let (n, kept) = self.write(|tx| {
            Ok((
                tx.execute("DELETE FROM tickets WHERE customer_id = ?1", [customer_id])?,
                tx.execute("DELETE FROM conversations WHERE customer_id = ?1", [customer_id])?,
            ))
        })?;
        if n + kept > 0 {
            self.scrub()?;
        }
        Ok(n)
    }
}
