//! Pooled connections that prepare each statement once: after the first time, a query is one
//! round trip to the server instead of two (prepare, then execute), which is most of what a chat
//! line costs on PostgreSQL.

use postgres::types::ToSql;
use postgres::{Error, GenericClient, NoTls, Row, Statement};
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;

/// A connection and the statements prepared on it.
pub struct Connection {
    pub client: postgres::Client,
    statements: HashMap<String, Statement>,
    /// The server ended it (seen in an error before the client noticed): the pool drops it.
    pub lost: bool,
}

impl Connection {
    /// The client with this connection's statements.
    pub fn cached(&mut self) -> (&mut postgres::Client, &mut HashMap<String, Statement>) {
        (&mut self.client, &mut self.statements)
    }
}

/// r2d2's PostgreSQL manager, with a statement cache per connection.
#[derive(Debug)]
pub struct Manager(pub PostgresConnectionManager<NoTls>);

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = Error;

    fn connect(&self) -> Result<Connection, Error> {
        Ok(Connection {
            client: self.0.connect()?,
            statements: HashMap::new(),
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.lost || self.0.has_broken(&mut conn.client)
    }
}

/// A client or a transaction, with its connection's statement cache.
pub struct Cached<'a, C> {
    pub client: &'a mut C,
    pub statements: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// The queries the store runs, each through a statement prepared once per connection.
pub trait Queries {
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error>;
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error>;
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error>;
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error>;
}

impl<C: GenericClient> Cached<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl<C: GenericClient> Queries for Cached<'_, C> {
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }
}
