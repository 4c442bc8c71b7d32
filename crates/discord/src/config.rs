//! `discord.toml`: which channels customers use, where each queue's staff work, and which
//! Discord roles are which staff roles. The token is never here: it comes from DISCORD_TOKEN.

use serde::Deserialize;
use std::collections::BTreeMap;
use switchboard_core::StaffRole;

/// When the bot answers in a support channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Only messages that mention the bot.
    Mention,
    /// Every message.
    Every,
}

/// A public support channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportChannel {
    /// Channel id.
    pub id: u64,
    /// When to answer.
    pub trigger: Trigger,
}

/// Where a queue's staff work.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffChannel {
    /// The channel private threads are created in.
    pub channel: u64,
    /// The Discord role pinged on a new ticket.
    pub ping_role: u64,
}

/// Which shards this process runs: `"auto"`, `{ fixed = N }`, or, for several processes
/// sharing one ticket database, `{ range = [first, last], total = N }` (shards `first` to
/// `last` of `N`; Discord sends direct messages to shard 0, a guild's messages to one shard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ShardsToml")]
pub enum Shards {
    /// As many as Discord recommends.
    Auto,
    /// A fixed number in this process.
    Fixed(u32),
    /// Shards `first..=last` of `total`; the others run in other processes.
    Range {
        /// The first shard this process runs.
        first: u32,
        /// The last shard this process runs.
        last: u32,
        /// How many shards all processes run together.
        total: u32,
    },
}

/// `shards` as written.
#[derive(Deserialize)]
#[serde(untagged)]
enum ShardsToml {
    Named(NamedShards),
    Range(ShardRange),
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum NamedShards {
    Auto,
    Fixed(u32),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardRange {
    range: [u32; 2],
    total: u32,
}

impl TryFrom<ShardsToml> for Shards {
    type Error = String;

    fn try_from(written: ShardsToml) -> Result<Self, String> {
        Ok(match written {
            ShardsToml::Named(NamedShards::Auto) => Shards::Auto,
            ShardsToml::Named(NamedShards::Fixed(n)) => Shards::Fixed(n),
            ShardsToml::Range(ShardRange {
                range: [first, last],
                total,
            }) => {
                if first > last || last >= total {
                    return Err(format!(
                        "shards: range [{first}, {last}] of {total} is not within shards 0 to {}",
                        total.saturating_sub(1)
                    ));
                }
                Shards::Range { first, last, total }
            }
        })
    }
}

/// The adapter's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The guild staff and support channels are in.
    pub guild: u64,
    /// Support channels customers may write in (DMs always work).
    #[serde(default)]
    pub support_channels: Vec<SupportChannel>,
    /// Queue id -> staff channel and role.
    pub queues: BTreeMap<String, StaffChannel>,
    /// Discord role id (as text) -> staff role.
    pub staff_roles: BTreeMap<String, StaffRole>,
    /// Sharding.
    #[serde(default = "default_shards")]
    pub shards: Shards,
    /// A customer's conversation context (language, the last answer awaiting feedback) is
    /// forgotten after this many minutes without a message, so memory does not grow with every
    /// customer ever seen; tickets and transcripts are in the database and stay.
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u64,
    /// A shard not connected to Discord for this many seconds is reported (on stderr and in
    /// the log at error level) while it keeps retrying, and reported again when it is back.
    #[serde(default = "default_report_disconnected_after_seconds")]
    pub report_disconnected_after_seconds: u64,
}

fn default_report_disconnected_after_seconds() -> u64 {
    30
}

fn default_shards() -> Shards {
    Shards::Fixed(1)
}

fn default_session_idle_minutes() -> u64 {
    60
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[error("discord config: {0}")]
pub struct ConfigError(pub String);

impl DiscordConfig {
    /// Parses and checks the configuration against the support model's queues.
    pub fn from_toml(text: &str, queues: &[&str]) -> Result<Self, ConfigError> {
        let config: DiscordConfig = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        for q in config.queues.keys() {
            if !queues.contains(&q.as_str()) {
                return Err(ConfigError(format!(
                    "queues.{q}: unknown queue (known: {})",
                    queues.join(", ")
                )));
            }
        }
        for q in queues {
            if !config.queues.contains_key(*q) {
                return Err(ConfigError(format!("queues: no staff channel for queue `{q}`")));
            }
        }
        for key in config.staff_roles.keys() {
            if key.parse::<u64>().is_err() {
                return Err(ConfigError(format!("staff_roles.{key}: not a Discord role id")));
            }
        }
        Ok(config)
    }

    /// The staff roles a member's Discord roles map to.
    pub fn staff_roles_of(&self, discord_roles: &[u64]) -> Vec<StaffRole> {
        discord_roles
            .iter()
            .filter_map(|r| self.staff_roles.get(&r.to_string()).copied())
            .collect()
    }
}
