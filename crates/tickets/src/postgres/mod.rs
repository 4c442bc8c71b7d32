//! The PostgreSQL ticket store: for several `serve` processes (or machines) sharing one
//! database server. Synchronous (`postgres`, over a pool of connections from `r2d2`), like the
//! [`TicketStore`] trait; the async adapters call it from blocking threads as they do SQLite.
//!
//! Guarantees as in SQLite, by the server's means: every change is one transaction, committed
//! (and so durable) before the call returns; a customer's tickets are created and reopened
//! under a per-customer advisory lock, and a unique index allows one ticket that is not resolved
//! per customer whatever a caller does; writes to a ticket lock its row first, so transcript
//! positions never collide; a claim is a compare-and-set under that lock.

mod cached;

use crate::{
    author_columns, author_of, check_action, list_query, parse_id, redact_url, ticket_id, Delivery,
    SCHEMA_VERSION,
};
use cached::{Cached, Manager, Queries};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;
use std::time::Duration;
use switchboard_core::tickets::{
    AuditEntry, Author, CustomerIdentity, Escalation, NewTicket, StaffAction, Ticket, TicketError,
    TicketFilter, TicketHead, TicketStatus, TicketStore, TranscriptEntry,
};

/// Schema migrations, the same versions as SQLite's; `switchboard_schema` records how many ran.
const MIGRATIONS: [&str; SCHEMA_VERSION] = [
    "CREATE TABLE tickets (
        seq BIGSERIAL PRIMARY KEY,
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
    CREATE UNIQUE INDEX tickets_one_unresolved_per_customer ON tickets(customer_id) WHERE status <> 'resolved';
    CREATE TABLE transcript (
        ticket BIGINT NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        author TEXT NOT NULL,
        staff_user TEXT,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (ticket, pos)
    );
    CREATE TABLE escalations (
        ticket BIGINT NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (ticket, pos)
    );
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        ticket BIGINT NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX audit_ticket ON audit(ticket, id);",
    "CREATE TABLE deliveries (
        ticket BIGINT NOT NULL REFERENCES tickets(seq) ON DELETE CASCADE,
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
    "CREATE INDEX transcript_staff ON transcript(ticket, pos) WHERE author = 'staff';",
    "INSERT INTO deliveries (ticket, adapter, key, value, at)
        SELECT seq, adapter, 'staff-replies',
               (SELECT COUNT(*) FROM transcript WHERE ticket = seq AND author = 'staff')::TEXT, updated_at
        FROM tickets
        ON CONFLICT DO NOTHING;",
    "ALTER TABLE transcript ADD COLUMN client_id TEXT;
    CREATE UNIQUE INDEX transcript_client_id ON transcript(ticket, client_id) WHERE client_id IS NOT NULL;",
    // A conversation that has no ticket yet, kept where several processes share the store.
    "CREATE TABLE conversations (customer_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);",
];

/// The advisory lock key under which migrations run: two processes starting at once on a new
/// database migrate it once.
const MIGRATION_LOCK: i64 = 0x5377_6974_6368; // "Switch"

/// Connections per process: the blocking threads of one `serve` rarely need more at once.
const POOL_SIZE: u32 = 16;

/// How long a call waits for a free connection (or the server) before failing as busy.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a transaction the server aborted (deadlock, serialisation) is retried.
const RETRIES: usize = 3;

type Pool = r2d2::Pool<Manager>;

/// A transaction with its connection's statement cache.
type Tx<'c, 't> = Cached<'c, Transaction<'t>>;

/// The PostgreSQL ticket store.
pub struct PostgresTicketStore {
    pool: Pool,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PostgresTicketStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTicketStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Whether `e` says the connection is gone (closed, reset, or ended by the server: a restart,
/// `pg_terminate_backend`), rather than that the statement failed.
fn connection_lost(e: &postgres::Error) -> bool {
    let ended_by_server = e.as_db_error().is_some_and(|db| {
        [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(db.code())
    });
    let io = std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    e.is_closed() || ended_by_server || io
}

/// The per-customer lock key: creating and reopening a customer's tickets take it first.
fn customer_lock(tx: &mut impl Queries, customer_id: &str) -> Result<(), postgres::Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&customer_id],
    )?;
    Ok(())
}

/// A position or version as the schema's INTEGER (no list here comes near 2^31).
fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// A binary COPY into `table (columns)` of rows of `types`.
fn copy_in<'a>(
    tx: &'a mut Transaction<'_>,
    table: &str,
    types: &[Type],
) -> Result<BinaryCopyInWriter<'a>, postgres::Error> {
    let sink = tx.copy_in(&format!("COPY {table} FROM STDIN BINARY"))?;
    Ok(BinaryCopyInWriter::new(sink, types))
}

fn push_entry(tx: &mut impl Queries, seq: i64, entry: &TranscriptEntry) -> Result<(), postgres::Error> {
    let (author, staff_user) = author_columns(entry);
    tx.execute(
        "INSERT INTO transcript (ticket, pos, author, staff_user, text, at, client_id)
         VALUES ($1, (SELECT COALESCE(MAX(pos), -1) + 1 FROM transcript WHERE ticket = $1), $2, $3, $4, $5, $6)",
        &[&seq, &author, &staff_user, &entry.text, &entry.at, &entry.id],
    )?;
    Ok(())
}

/// Whether the ticket holds one of `entries` already (by the sender's id): a message sent
/// again is not stored again, nor what was written with it. Asked under the ticket's row lock.
fn already_stored(
    tx: &mut impl Queries,
    seq: i64,
    entries: &[TranscriptEntry],
) -> Result<bool, postgres::Error> {
    let ids: Vec<&str> = entries.iter().filter_map(|e| e.id.as_deref()).collect();
    if ids.is_empty() {
        return Ok(false);
    }
    Ok(tx
        .query_opt(
            "SELECT 1 FROM transcript WHERE ticket = $1 AND client_id = ANY($2) LIMIT 1",
            &[&seq, &ids],
        )?
        .is_some())
}

fn audit(
    tx: &mut impl Queries,
    seq: i64,
    actor: &str,
    action: &str,
    at: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO audit (ticket, actor, action, at) VALUES ($1, $2, $3, $4)",
        &[&seq, &actor, &action, &at],
    )?;
    tx.execute("UPDATE tickets SET updated_at = $2 WHERE seq = $1", &[&seq, &at])?;
    Ok(())
}

fn load(c: &mut impl Queries, seq: i64) -> Result<Option<Ticket>, postgres::Error> {
    Ok(load_many(c, &[seq])?.pop())
}

/// Whole tickets, in the order of `seqs` (those that do not exist are left out): four queries
/// however many tickets, so a staff queue or a migration's read-back does not make a round
/// trip per ticket.
fn load_many(c: &mut impl Queries, seqs: &[i64]) -> Result<Vec<Ticket>, postgres::Error> {
    let mut transcripts: HashMap<i64, Vec<TranscriptEntry>> = HashMap::new();
    for r in c.query(
        "SELECT ticket, author, staff_user, text, at, client_id FROM transcript WHERE ticket = ANY($1) ORDER BY ticket, pos",
        &[&seqs],
    )? {
        transcripts.entry(r.get(0)).or_default().push(TranscriptEntry {
            author: author_of(r.get::<_, &str>(1), r.get(2)),
            text: r.get(3),
            at: r.get(4),
            id: r.get(5),
        });
    }
    let mut escalations: HashMap<i64, Vec<Escalation>> = HashMap::new();
    for r in c.query(
        "SELECT ticket, detail FROM escalations WHERE ticket = ANY($1) ORDER BY ticket, pos",
        &[&seqs],
    )? {
        if let Ok(e) = serde_json::from_str(r.get::<_, &str>(1)) {
            escalations.entry(r.get(0)).or_default().push(e);
        }
    }
    let mut audits: HashMap<i64, Vec<AuditEntry>> = HashMap::new();
    for r in c.query(
        "SELECT ticket, actor, action, at FROM audit WHERE ticket = ANY($1) ORDER BY ticket, id",
        &[&seqs],
    )? {
        audits.entry(r.get(0)).or_default().push(AuditEntry {
            actor: r.get(1),
            action: r.get(2),
            at: r.get(3),
        });
    }
    let mut rows: HashMap<i64, postgres::Row> = c
        .query(
            "SELECT seq, adapter, user_id, display_name, conversation, queue, status, assignee, findings, due, created_at, updated_at
             FROM tickets WHERE seq = ANY($1)",
            &[&seqs],
        )?
        .into_iter()
        .map(|r| (r.get(0), r))
        .collect();
    Ok(seqs
        .iter()
        .filter_map(|seq| {
            let row = rows.remove(seq)?;
            let status: &str = row.get(6);
            Some(Ticket {
                id: ticket_id(*seq),
                customer: CustomerIdentity {
                    adapter: row.get(1),
                    user_id: row.get(2),
                    display_name: row.get(3),
                },
                conversation: row.get(4),
                queue: row.get(5),
                status: TicketStatus::parse(status).unwrap_or(TicketStatus::Open),
                assignee: row.get(7),
                transcript: transcripts.remove(seq).unwrap_or_default(),
                findings: serde_json::from_str(row.get::<_, &str>(8)).unwrap_or(serde_json::Value::Null),
                due: row.get(9),
                escalations: escalations.remove(seq).unwrap_or_default(),
                audit: audits.remove(seq).unwrap_or_default(),
                created_at: row.get(10),
                updated_at: row.get(11),
            })
        })
        .collect())
}

impl PostgresTicketStore {
    /// Connects to the server at `url` (`postgres://user:password@host:port/database`) and
    /// applies the schema migrations it lacks.
    pub fn connect(url: &str) -> Result<Self, TicketError> {
        let shown = redact_url(url);
        let config: postgres::Config = url
            .parse()
            .map_err(|e| TicketError::Store(format!("the database URL {shown} is not valid: {e}")))?;
        // One connection first: a server that is down or refuses the login fails at once, with
        // the reason (the pool would wait its whole timeout and say only "error connecting").
        let mut reason = String::new();
        if let Err(e) = config.connect(NoTls) {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                reason.push_str(": ");
                reason.push_str(&c.to_string());
                cause = c.source();
            }
            return Err(TicketError::Store(format!("cannot connect to {shown}{reason}")));
        }
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager(PostgresConnectionManager::new(config, NoTls)))
            .map_err(|e| TicketError::Store(format!("cannot connect to {shown}: {e}")))?;
        let store = PostgresTicketStore { pool, shown };
        store.migrate()?;
        Ok(store)
    }

    /// The server's URL, without its password.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    fn error(&self, e: &postgres::Error) -> TicketError {
        let Some(db) = e.as_db_error() else {
            return TicketError::Store(format!("{}: {e}", self.shown));
        };
        let code = db.code();
        if [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
        {
            TicketError::Busy
        } else if [
            SqlState::READ_ONLY_SQL_TRANSACTION,
            SqlState::DISK_FULL,
            SqlState::INSUFFICIENT_PRIVILEGE,
        ]
        .contains(code)
        {
            TicketError::ReadOnly {
                path: self.shown.clone(),
                reason: db.to_string(),
            }
        } else {
            TicketError::Store(format!("{}: {db}", self.shown))
        }
    }

    fn client(&self) -> Result<r2d2::PooledConnection<Manager>, TicketError> {
        self.pool.get().map_err(|e| {
            TicketError::Store(format!(
                "no connection to {} within {CONNECT_TIMEOUT:?}: {e}",
                self.shown
            ))
        })
    }

    /// Runs `f` on a pooled connection. Connections are not checked when taken from the pool
    /// (that was one more round trip per call, a third of a chat line); one the server closed
    /// meanwhile (a restart, an idle timeout) fails `f` before anything happened, and `f` runs
    /// again on a new one.
    fn read<T>(
        &self,
        mut f: impl FnMut(&mut Cached<'_, postgres::Client>) -> Result<T, postgres::Error>,
    ) -> Result<T, TicketError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.client()?;
            let (client, statements) = conn.cached();
            match f(&mut Cached { client, statements }) {
                Ok(out) => return Ok(out),
                Err(e) if connection_lost(&e) => {
                    // Each lost one leaves the pool; after a server restart all idle ones may be.
                    conn.lost = true;
                    if attempt > POOL_SIZE as usize {
                        return Err(self.error(&e));
                    }
                }
                Err(e) => return Err(self.error(&e)),
            }
        }
    }

    /// Runs `f` in one transaction, committed before this returns. A transaction the server
    /// aborted for a deadlock or a serialisation conflict is run again, and so is one whose
    /// connection turned out closed before the commit was sent (nothing of it was written); a
    /// connection lost during the commit is reported, as its outcome is unknown.
    fn write<T>(
        &self,
        mut f: impl FnMut(&mut Tx<'_, '_>) -> Result<T, postgres::Error>,
    ) -> Result<T, TicketError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.client()?;
            let (client, statements) = conn.cached();
            let mut committing = false;
            let result = client.transaction().and_then(|mut tx| {
                let out = f(&mut Cached {
                    client: &mut tx,
                    statements: &mut *statements,
                })?;
                committing = true;
                tx.commit()?;
                Ok(out)
            });
            match result {
                Ok(out) => return Ok(out),
                Err(e) => {
                    let err = self.error(&e);
                    conn.lost |= connection_lost(&e);
                    let again = (matches!(err, TicketError::Busy) && attempt < RETRIES)
                        || (conn.lost && !committing && attempt <= POOL_SIZE as usize);
                    if !again {
                        return Err(err);
                    }
                }
            }
        }
    }

    fn migrate(&self) -> Result<(), TicketError> {
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.client
                .batch_execute("CREATE TABLE IF NOT EXISTS switchboard_schema (version INTEGER NOT NULL)")?;
            let version: Option<i32> = tx
                .query_opt("SELECT version FROM switchboard_schema", &[])?
                .map(|r| r.get(0));
            if version.is_none() {
                tx.execute("INSERT INTO switchboard_schema (version) VALUES (0)", &[])?;
            }
            let version = version.unwrap_or(0).max(0) as usize;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
                tx.client.batch_execute(sql)?;
                tx.execute("UPDATE switchboard_schema SET version = $1", &[&position(i + 1)])?;
            }
            Ok(())
        })
    }

    fn get_seq(&self, seq: i64, id: &str) -> Result<Ticket, TicketError> {
        self.read(|c| load(c, seq))?
            .ok_or_else(|| TicketError::NotFound(id.to_string()))
    }

    fn create_inner(
        &self,
        t: &NewTicket,
        now: &str,
        reply: Option<&dyn Fn(&str) -> TranscriptEntry>,
    ) -> Result<Ticket, TicketError> {
        let findings = t.findings.to_string();
        let customer_id = t.customer.customer_id();
        let seq = self.write(|tx| {
            // Find or create under the customer's lock: two handoffs of one customer at once, on
            // one process or two, give one ticket; the second one's message is added to it.
            customer_lock(tx, &customer_id)?;
            let open = tx.query_opt(
                "SELECT seq FROM tickets WHERE customer_id = $1 AND status <> 'resolved' ORDER BY seq DESC LIMIT 1 FOR UPDATE",
                &[&customer_id],
            )?;
            if let Some(row) = open {
                let seq: i64 = row.get(0);
                let last = t.transcript.last().map(std::slice::from_ref).unwrap_or_default();
                if already_stored(tx, seq, last)? {
                    return Ok(seq);
                }
                for entry in last {
                    push_entry(tx, seq, entry)?;
                }
                audit(tx, seq, "bot", &format!("another handoff (queue {}) added to this open ticket", t.queue), now)?;
                if let Some(reply) = reply {
                    push_entry(tx, seq, &reply(&ticket_id(seq)))?;
                }
                return Ok(seq);
            }
            let seq: i64 = tx
                .query_one(
                    "INSERT INTO tickets (customer_id, adapter, user_id, display_name, conversation, queue, status, findings, due, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $9) RETURNING seq",
                    &[&customer_id, &t.customer.adapter, &t.customer.user_id, &t.customer.display_name, &t.conversation, &t.queue, &findings, &t.due, &now],
                )?
                .get(0);
            for entry in &t.transcript {
                push_entry(tx, seq, entry)?;
            }
            audit(tx, seq, "bot", &format!("opened for queue {}", t.queue), now)?;
            if let Some(reply) = reply {
                push_entry(tx, seq, &reply(&ticket_id(seq)))?;
            }
            Ok(seq)
        })?;
        self.get_seq(seq, &ticket_id(seq))
    }

    /// Every outbox row, oldest ticket first.
    pub fn all_deliveries(&self) -> Result<Vec<Delivery>, TicketError> {
        self.read(|c| {
            Ok(c.query(
                "SELECT ticket, adapter, key, value, at FROM deliveries ORDER BY ticket, adapter, key",
                &[],
            )?
            .iter()
            .map(|r| Delivery {
                ticket: ticket_id(r.get(0)),
                adapter: r.get(1),
                key: r.get(2),
                value: r.get(3),
                at: r.get(4),
            })
            .collect())
        })
    }

    /// How many tickets the database holds.
    pub fn count(&self) -> Result<usize, TicketError> {
        self.read(|c| Ok(c.query_one("SELECT COUNT(*) FROM tickets", &[])?.get::<_, i64>(0) as usize))
    }

    /// Writes whole tickets (ids, transcripts, escalations, audit) and outbox rows as they are,
    /// in one transaction, into a database that holds no tickets yet: the target of
    /// `switchboard tickets migrate`. Ticket ids are kept, and new tickets continue after the
    /// highest.
    pub fn import(&self, tickets: &[Ticket], deliveries: &[Delivery]) -> Result<(), TicketError> {
        let held = self.count()?;
        if held > 0 {
            return Err(TicketError::Store(format!(
                "{} already holds {held} tickets: copy into an empty database, so no ticket id is taken twice",
                self.shown
            )));
        }
        let seqs = tickets
            .iter()
            .map(|t| parse_id(&t.id))
            .collect::<Result<Vec<i64>, _>>()?;
        let deliveries = deliveries
            .iter()
            .map(|d| Ok((parse_id(&d.ticket)?, d)))
            .collect::<Result<Vec<_>, TicketError>>()?;
        self.write(|tx| {
            // COPY, the server's bulk path: five streams instead of a round trip per row.
            let text = Type::TEXT;
            let (int, big) = (Type::INT4, Type::INT8);
            let mut rows = copy_in(
                tx.client,
                "tickets (seq, customer_id, adapter, user_id, display_name, conversation, queue, status, assignee, findings, due, created_at, updated_at)",
                &[big.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone()],
            )?;
            for (t, seq) in tickets.iter().zip(&seqs) {
                let findings = t.findings.to_string();
                rows.write(&[seq, &t.customer.customer_id(), &t.customer.adapter, &t.customer.user_id, &t.customer.display_name, &t.conversation, &t.queue, &t.status.as_str(), &t.assignee, &findings, &t.due, &t.created_at, &t.updated_at])?;
            }
            rows.finish()?;
            let mut rows = copy_in(
                tx.client,
                "transcript (ticket, pos, author, staff_user, text, at, client_id)",
                &[big.clone(), int.clone(), text.clone(), text.clone(), text.clone(), text.clone(), text.clone()],
            )?;
            for (t, seq) in tickets.iter().zip(&seqs) {
                for (pos, e) in t.transcript.iter().enumerate() {
                    let (author, staff_user) = author_columns(e);
                    rows.write(&[seq, &position(pos), &author, &staff_user, &e.text, &e.at, &e.id])?;
                }
            }
            rows.finish()?;
            let mut rows = copy_in(
                tx.client, "escalations (ticket, pos, detail)", &[big.clone(), int.clone(), text.clone()])?;
            for (t, seq) in tickets.iter().zip(&seqs) {
                for (pos, e) in t.escalations.iter().enumerate() {
                    let detail = serde_json::to_string(e).expect("escalation serialises");
                    rows.write(&[seq, &position(pos), &detail])?;
                }
            }
            rows.finish()?;
            // Oldest ticket first and in each ticket's order: the audit is read back by its
            // own sequence.
            let mut rows = copy_in(
                tx.client, "audit (ticket, actor, action, at)", &[big.clone(), text.clone(), text.clone(), text.clone()])?;
            for (t, seq) in tickets.iter().zip(&seqs).rev() {
                for a in &t.audit {
                    rows.write(&[seq, &a.actor, &a.action, &a.at])?;
                }
            }
            rows.finish()?;
            let mut rows = copy_in(
                tx.client,
                "deliveries (ticket, adapter, key, value, at)",
                &[big.clone(), text.clone(), text.clone(), text.clone(), text.clone()],
            )?;
            for (seq, d) in &deliveries {
                rows.write(&[seq, &d.adapter, &d.key, &d.value, &d.at])?;
            }
            rows.finish()?;
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('tickets', 'seq'), GREATEST((SELECT MAX(seq) FROM tickets), 1), (SELECT COUNT(*) > 0 FROM tickets))",
                &[],
            )?;
            Ok(())
        })
    }

    /// Returns the space of deleted rows to the tables (run after deleting, outside a
    /// transaction). Unlike SQLite's rebuild, the server's write-ahead log and backups keep
    /// what was deleted until they are recycled: that is the server operator's retention.
    fn vacuum(&self) -> Result<(), TicketError> {
        self.read(|c| {
            c.client
                .batch_execute("VACUUM tickets, transcript, escalations, audit, deliveries")
        })
    }
}

impl TicketStore for PostgresTicketStore {
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
        let (sql, params) = list_query(filter, |n| format!("${n}"));
        let args: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.read(|c| {
            let seqs: Vec<i64> = c.query(&sql, &args)?.iter().map(|r| r.get(0)).collect();
            // A ticket erased between the two reads is left out.
            load_many(c, &seqs)
        })
    }

    fn latest_for_customer(
        &self,
        customer_id: &str,
        resolved_since: &str,
    ) -> Result<Option<TicketHead>, TicketError> {
        let head = self.read(|c| {
            Ok(c.query_opt(
                "SELECT seq, status, queue, due FROM tickets WHERE customer_id = $1 AND (status <> 'resolved' OR updated_at >= $2) ORDER BY seq DESC LIMIT 1",
                &[&customer_id, &resolved_since],
            )?
            .map(|r| {
                (
                    r.get::<_, i64>(0),
                    r.get::<_, String>(1),
                    r.get::<_, String>(2),
                    r.get::<_, Option<String>>(3),
                )
            }))
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

    fn staff_messages(&self, customer_id: &str) -> Result<Vec<(String, Vec<TranscriptEntry>)>, TicketError> {
        self.read(|c| {
            let rows = c.query(
                "SELECT t.seq, x.staff_user, x.text, x.at FROM tickets t
                 LEFT JOIN transcript x ON x.ticket = t.seq AND x.author = 'staff'
                 WHERE t.customer_id = $1 ORDER BY t.seq, x.pos",
                &[&customer_id],
            )?;
            let mut out: Vec<(String, Vec<TranscriptEntry>)> = Vec::new();
            let mut last = None;
            for r in &rows {
                let seq: i64 = r.get(0);
                if last != Some(seq) {
                    out.push((ticket_id(seq), Vec::new()));
                    last = Some(seq);
                }
                if let (Some(text), Some(entries)) = (r.get::<_, Option<String>>(2), out.last_mut()) {
                    entries.1.push(TranscriptEntry {
                        author: Author::Staff {
                            user: r.get::<_, Option<String>>(1).unwrap_or_default(),
                        },
                        text,
                        at: r.get(3),
                        id: None,
                    });
                }
            }
            Ok(out)
        })
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
        let found = self.write(|tx| {
            if reopen {
                // Reopening makes a ticket unresolved again: under the customer's lock, as
                // creating one is, so the two never race.
                let Some(row) = tx.query_opt("SELECT customer_id FROM tickets WHERE seq = $1", &[&seq])?
                else {
                    return Ok(false);
                };
                customer_lock(tx, row.get::<_, &str>(0))?;
            }
            let Some(row) = tx.query_opt(
                "SELECT status, customer_id FROM tickets WHERE seq = $1 FOR UPDATE",
                &[&seq],
            )?
            else {
                return Ok(false);
            };
            let status: &str = row.get(0);
            let customer_id: &str = row.get(1);
            if already_stored(tx, seq, entries)? {
                return Ok(true);
            }
            for entry in entries {
                push_entry(tx, seq, entry)?;
            }
            let other_unresolved = reopen
                && status == "resolved"
                && tx
                    .query_opt(
                        "SELECT 1 FROM tickets WHERE customer_id = $1 AND status <> 'resolved' AND seq <> $2",
                        &[&customer_id, &seq],
                    )?
                    .is_some();
            if reopen && status == "resolved" && !other_unresolved {
                tx.execute(
                    "UPDATE tickets SET status = 'open', assignee = NULL WHERE seq = $1",
                    &[&seq],
                )?;
                audit(tx, seq, "customer", "reopened by a new message", &first.at)?;
            } else {
                // The customer has another ticket open: this one keeps the message but stays
                // resolved (one ticket that is not resolved per customer).
                tx.execute("UPDATE tickets SET updated_at = $2 WHERE seq = $1", &[&seq, at])?;
            }
            Ok(true)
        })?;
        found
            .then_some(())
            .ok_or_else(|| TicketError::NotFound(id.to_string()))
    }

    fn act(&self, id: &str, actor: &str, action: &StaffAction, now: &str) -> Result<Ticket, TicketError> {
        let seq = parse_id(id)?;
        let checked = self.write(|tx| {
            let Some(row) = tx.query_opt("SELECT status, assignee FROM tickets WHERE seq = $1 FOR UPDATE", &[&seq])? else {
                return Ok(Err(TicketError::NotFound(id.to_string())));
            };
            let status = TicketStatus::parse(row.get(0)).unwrap_or(TicketStatus::Open);
            let assignee: Option<String> = row.get(1);
            // Checked under the row's lock: what was read is what is changed.
            if let Err(e) = check_action(id, status, assignee.as_deref(), actor, action) {
                return Ok(Err(e));
            }
            match action {
                StaffAction::Claim => {
                    if let Some(holder) = assignee.filter(|holder| holder != actor) {
                        return Ok(Err(TicketError::InvalidTransition {
                            id: id.to_string(),
                            status: "claimed",
                            action: format!("claim (claimed by {holder})"),
                        }));
                    }
                    tx.execute("UPDATE tickets SET status = 'claimed', assignee = $2 WHERE seq = $1", &[&seq, &actor])?;
                    audit(tx, seq, actor, "claimed", now)?;
                }
                StaffAction::TakeOver => {
                    tx.execute("UPDATE tickets SET status = 'claimed', assignee = $2 WHERE seq = $1", &[&seq, &actor])?;
                    let from = assignee.as_deref().unwrap_or("nobody");
                    audit(tx, seq, actor, &format!("took over from {from}"), now)?;
                }
                StaffAction::Reply(text) => {
                    let entry = TranscriptEntry {
                        author: Author::Staff { user: actor.to_string() },
                        text: text.clone(),
                        at: now.to_string(),
                        id: None,
                    };
                    push_entry(tx, seq, &entry)?;
                    audit(tx, seq, actor, "replied", now)?;
                }
                StaffAction::Escalate(e) => {
                    let detail = serde_json::to_string(e).expect("escalation serialises");
                    tx.execute(
                        "INSERT INTO escalations (ticket, pos, detail) VALUES ($1, (SELECT COALESCE(MAX(pos), -1) + 1 FROM escalations WHERE ticket = $1), $2)",
                        &[&seq, &detail],
                    )?;
                    if let Escalation::Queue { queue } = e {
                        tx.execute("UPDATE tickets SET queue = $2, status = 'open', assignee = NULL WHERE seq = $1", &[&seq, queue])?;
                    } else {
                        tx.execute("UPDATE tickets SET status = 'escalated' WHERE seq = $1", &[&seq])?;
                    }
                    audit(tx, seq, actor, &e.to_string(), now)?;
                }
                StaffAction::Resolve => {
                    tx.execute("UPDATE tickets SET status = 'resolved' WHERE seq = $1", &[&seq])?;
                    audit(tx, seq, actor, "resolved", now)?;
                }
            }
            Ok(Ok(()))
        })?;
        checked?;
        self.get_seq(seq, id)
    }

    fn purge_resolved_before(&self, cutoff: &str) -> Result<usize, TicketError> {
        let (n, idle) = self.write(|tx| {
            Ok((
                tx.execute(
                    "DELETE FROM tickets WHERE status = 'resolved' AND updated_at < $1",
                    &[&cutoff],
                )?,
                tx.execute("DELETE FROM conversations WHERE updated_at < $1", &[&cutoff])?,
            ))
        })?;
        if n + idle > 0 {
            self.vacuum()?;
        }
        Ok(n as usize)
    }

    fn erase_customer(&self, customer_id: &str) -> Result<usize, TicketError> {
        let (n, kept) = self.write(|tx| {
            Ok((
                tx.execute("DELETE FROM tickets WHERE customer_id = $1", &[&customer_id])?,
                tx.execute(
                    "DELETE FROM conversations WHERE customer_id = $1",
                    &[&customer_id],
                )?,
            ))
        })?;
        if n + kept > 0 {
            self.vacuum()?;
        }
        Ok(n as usize)
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
                 SELECT seq, $2, $3, $4, $5 FROM tickets WHERE seq = $1
                 ON CONFLICT (ticket, adapter, key) DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at",
                &[&seq, &adapter, &key, &value, &now],
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
            Ok(c.query_opt(
                "SELECT value FROM deliveries WHERE ticket = $1 AND adapter = $2 AND key = $3",
                &[&seq, &adapter, &key],
            )?
            .map(|r| r.get(0)))
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
                 SELECT seq, $2, 'claim:' || $3, $4, $6 FROM tickets WHERE seq = $1
                 ON CONFLICT (ticket, adapter, key) DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at
                 WHERE deliveries.value = EXCLUDED.value OR deliveries.at < $5",
                &[&seq, &adapter, &key, &holder, &stale_before, &now],
            )
        })?;
        Ok(won == 1)
    }

    fn shared(&self) -> bool {
        true
    }

    fn save_conversation(&self, customer_id: &str, state: &str, now: &str) -> Result<(), TicketError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (customer_id, state, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (customer_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
                &[&customer_id, &state, &now],
            )
        })?;
        Ok(())
    }

    fn conversation(&self, customer_id: &str) -> Result<Option<String>, TicketError> {
        self.read(|c| {
            Ok(c.query_opt(
                "SELECT state FROM conversations WHERE customer_id = $1",
                &[&customer_id],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn release_delivery(&self, id: &str, adapter: &str, key: &str, holder: &str) -> Result<(), TicketError> {
        let seq = parse_id(id)?;
        self.write(|tx| {
            tx.execute(
                "DELETE FROM deliveries WHERE ticket = $1 AND adapter = $2 AND key = 'claim:' || $3 AND value = $4",
                &[&seq, &adapter, &key, &holder],
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
            Ok(c.query(
                "SELECT ticket, key, value FROM deliveries WHERE adapter = $1 AND left(key, length($2)) = $2
                 ORDER BY ticket, key",
                &[&adapter, &key_prefix],
            )?
            .iter()
            .map(|r| (ticket_id(r.get(0)), r.get(1), r.get(2)))
            .collect())
        })
    }

    fn undelivered(&self, adapter: &str, key: &str) -> Result<Vec<String>, TicketError> {
        self.read(|c| {
            Ok(c.query(
                "SELECT seq FROM tickets t WHERE adapter = $1 AND status <> 'resolved'
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.ticket = t.seq AND d.adapter = $1
                                 AND d.key = replace($2, '{queue}', t.queue))
                 ORDER BY seq",
                &[&adapter, &key],
            )?
            .iter()
            .map(|r| ticket_id(r.get(0)))
            .collect())
        })
    }
}
