//! `switchboard`: the command-line front of the support bot.

mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Switchboard answers CSP customers' billing and product questions from guidance files,
/// or hands the conversation to the right human support queue.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
struct Cli {
    /// Data directory for derived data (indexes, tickets).
    #[arg(long, global = true, env = "SWITCHBOARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Knowledge root(s) holding guidance files; repeatable. Default: the bundled knowledge/.
    #[arg(
        long = "knowledge",
        global = true,
        env = "SWITCHBOARD_KNOWLEDGE",
        value_delimiter = ','
    )]
    knowledge: Vec<PathBuf>,
    /// Plugin folder (one sub-folder per plugin). Default: the bundled plugins/.
    #[arg(long, global = true, env = "SWITCHBOARD_PLUGINS")]
    plugins: Option<PathBuf>,
    /// The support model (queues, hours, prices, staff roles). Default: support/support.toml in
    /// the plugin folder.
    #[arg(long, global = true, env = "SWITCHBOARD_SUPPORT")]
    support: Option<PathBuf>,
    /// Keep tickets on a PostgreSQL server (`postgres://user:password@host/database`), shared
    /// by several processes; without it they are in SQLite in the data directory.
    #[arg(long, global = true, env = "SWITCHBOARD_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest the knowledge roots and (re)build the search index.
    Index(commands::index::IndexArgs),
    /// Search the knowledge base and print ranked sections.
    Search(commands::search::SearchArgs),
    /// Run the whole pipeline once for a question and print the decision.
    Ask(commands::ask::AskArgs),
    /// Measure answers and routing on an evaluation case file.
    Eval(commands::eval::EvalArgs),
    /// Chat as a customer in the terminal (reads a pipe too).
    Chat(commands::chat::ChatArgs),
    /// The staff side of handoff tickets.
    Tickets(commands::tickets::TicketsArgs),
    /// Run the Discord adapter (needs DISCORD_TOKEN in the environment).
    Serve(commands::serve::ServeArgs),
    /// Validate guidance files and plugins; exits non-zero on errors.
    Check(commands::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // Text commands piped into `head` end quietly, as Unix tools do, instead of panicking
        // on the closed pipe. The server keeps the runtime's default: a peer closing a
        // connection must never kill it.
        sigpipe::reset();
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut env = commands::Env::new(cli.data_dir, cli.knowledge, cli.plugins, cli.support)?;
    env.database_url = cli.database_url.filter(|url| !url.trim().is_empty());
    match cli.command {
        Command::Index(args) => commands::index::run(&env, &args),
        Command::Search(args) => commands::search::run(&env, &args),
        Command::Ask(args) => commands::ask::run(&env, &args),
        Command::Eval(args) => commands::eval::run(&env, &args),
        Command::Chat(args) => commands::chat::run(&env, &args),
        Command::Tickets(args) => commands::tickets::run(&env, &args),
        Command::Serve(args) => commands::serve::run(&env, &args),
        Command::Check(args) => Ok(commands::check::run(&env, &args)),
    }
}
