//! The support model: queues with service hours (time-zone aware), contact method and
//! price, the staff roles allowed on each, and the partner's escalation path to Microsoft.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use switchboard_knowledge::{Language, Product};

/// A staff role, as the seed names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaffRole {
    /// Global admin.
    GlobalAdmin,
    /// User admin.
    UserAdmin,
    /// Helpdesk agent.
    HelpdeskAgent,
    /// Billing admin.
    BillingAdmin,
    /// Sales agent.
    SalesAgent,
}

impl std::str::FromStr for StaffRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "global-admin" => Ok(StaffRole::GlobalAdmin),
            "user-admin" => Ok(StaffRole::UserAdmin),
            "helpdesk-agent" => Ok(StaffRole::HelpdeskAgent),
            "billing-admin" => Ok(StaffRole::BillingAdmin),
            "sales-agent" => Ok(StaffRole::SalesAgent),
            other => Err(format!(
                "unknown role `{other}` (expected global-admin, user-admin, helpdesk-agent, billing-admin or sales-agent)"
            )),
        }
    }
}

/// The partner's technical support entitlement with Microsoft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TechnicalEntitlement {
    /// Premier Support for Partners (paid).
    PremierSupportForPartners,
    /// Advanced Support for Partners (paid).
    AdvancedSupportForPartners,
    /// Signature Cloud Support (included with a Gold/Silver competency).
    SignatureCloudSupport,
    /// No technical entitlement: technical escalation is not available.
    None,
}

impl TechnicalEntitlement {
    /// The product name.
    pub fn display_name(self) -> &'static str {
        match self {
            TechnicalEntitlement::PremierSupportForPartners => "Premier Support for Partners",
            TechnicalEntitlement::AdvancedSupportForPartners => "Advanced Support for Partners",
            TechnicalEntitlement::SignatureCloudSupport => "Signature Cloud Support",
            TechnicalEntitlement::None => "none",
        }
    }
}

/// Which Partner Center the deployment serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// Partner Center.
    PartnerCenter,
    /// Partner Center for Microsoft Cloud for US Government.
    UsGovernment,
}

impl Audience {
    /// Whether guidance that names `audiences` applies (guidance naming none applies to all).
    pub fn admits(self, audiences: &[String]) -> bool {
        if audiences.is_empty() {
            return true;
        }
        let gov = |a: &String| {
            let l = a.to_lowercase();
            l.contains("government") || l.contains("regierung") || l.contains("gov")
        };
        match self {
            Audience::UsGovernment => audiences.iter().any(gov),
            Audience::PartnerCenter => audiences.iter().any(|a| !gov(a)),
        }
    }
}

/// Text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    /// German.
    pub de: String,
    /// English.
    pub en: String,
}

impl Localized {
    /// The text in `lang`.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }
}

/// What one unit of charged support costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// The amount, written as a string in TOML so it is never a float.
    #[serde(with = "decimal_string")]
    pub amount: Decimal,
    /// ISO 4217 currency code.
    pub currency: String,
    /// What the price is for.
    pub per: PriceUnit,
}

/// Money in config is a string (`"95.00"`): a TOML float would already have lost exactness.
pub(crate) mod decimal_string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        Decimal::from_str_exact(text.trim())
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a decimal amount ({e})")))
    }
}

/// The unit a price is charged per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceUnit {
    /// Per incident.
    Incident,
    /// Per hour.
    Hour,
}

/// One opening interval on some weekdays; `close` at or before `open` means past midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Weekdays: `mon`..`sun`, or a range like `mon-fri`.
    pub days: String,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM`.
    pub close: String,
}

/// A human support queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Identifier (`billing`, `technical`, ...).
    pub id: String,
    /// Display name.
    pub name: Localized,
    /// IANA time zone of the hours.
    pub time_zone: String,
    /// Opening intervals.
    pub hours: Vec<OpeningHours>,
    /// How customers reach the queue besides this chat.
    pub contact: Localized,
    /// Price where support is charged; absent means free.
    #[serde(default)]
    pub price: Option<Price>,
    /// Hours within which the customer hears back while the queue is open.
    pub response_hours: u32,
    /// Staff roles allowed to see and act on the queue.
    pub roles: Vec<StaffRole>,
}

/// Text an admin writes once for both languages (`"…"`), or per language
/// (`{ de = "…", en = "…" }`), so a German reply does not quote English.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocalizedText {
    /// One text per language.
    PerLanguage {
        /// German.
        de: String,
        /// English.
        en: String,
    },
    /// The same text in both.
    Same(String),
}

impl LocalizedText {
    /// The text in `lang`.
    pub fn get(&self, lang: Language) -> &str {
        match self {
            LocalizedText::PerLanguage { de, en } => match lang {
                Language::De => de,
                Language::En => en,
            },
            LocalizedText::Same(text) => text,
        }
    }
}

impl From<&str> for LocalizedText {
    fn from(text: &str) -> Self {
        LocalizedText::Same(text.to_string())
    }
}

/// Links for customers who did not buy through a CSP, per product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectCustomerPortals {
    /// Azure portal.
    pub azure: LocalizedText,
    /// Microsoft 365 admin center.
    pub microsoft_365: LocalizedText,
    /// Dynamics 365 admin center.
    pub dynamics_365: LocalizedText,
}

impl DirectCustomerPortals {
    /// The portal for a product in `lang` (Partner Center questions get the Microsoft 365 one).
    pub fn for_product(&self, product: Product, lang: Language) -> &str {
        match product {
            Product::Azure => &self.azure,
            Product::Dynamics365 => &self.dynamics_365,
            Product::Microsoft365 | Product::PartnerCenter => &self.microsoft_365,
        }
        .get(lang)
    }
}

/// The partner's way to Microsoft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftEscalation {
    /// Commercial (billing, licensing) support: open to every CSP partner.
    pub commercial: bool,
    /// The technical support entitlement.
    pub technical: TechnicalEntitlement,
}

/// The whole support model (`support.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportModel {
    /// The partner's name as customers know it.
    pub partner_name: String,
    /// The deployment's audience.
    pub audience: Audience,
    /// The queue that takes explicit requests for a person.
    pub default_queue: String,
    /// Queues.
    pub queues: Vec<Queue>,
    /// Escalation to Microsoft.
    pub microsoft: MicrosoftEscalation,
    /// Portals for customers who did not buy through a CSP.
    pub direct_customer_portals: DirectCustomerPortals,
}

/// A problem in the support model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SupportModelError {
    /// The key at fault (`queues[1].hours[0].open`).
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn parse_time(text: &str) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text.trim().to_lowercase().as_str() {
        "mon" | "mo" => Weekday::Monday,
        "tue" | "di" => Weekday::Tuesday,
        "wed" | "mi" => Weekday::Wednesday,
        "thu" | "do" => Weekday::Thursday,
        "fri" | "fr" => Weekday::Friday,
        "sat" | "sa" => Weekday::Saturday,
        "sun" | "so" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_days(text: &str) -> Option<Vec<Weekday>> {
    let mut days = Vec::new();
    for part in text.split(',') {
        if let Some((a, b)) = part.split_once('-') {
            let (mut d, end) = (parse_weekday(a)?, parse_weekday(b)?);
            loop {
                days.push(d);
                if d == end {
                    break;
                }
                d = d.next();
            }
        } else {
            days.push(parse_weekday(part)?);
        }
    }
    Some(days)
}

impl SupportModel {
    /// Parses and validates `support.toml` text.
    pub fn from_toml(text: &str) -> Result<Self, SupportModelError> {
        let model: SupportModel = toml::from_str(text).map_err(|e| SupportModelError {
            key: "support.toml".into(),
            reason: e.to_string(),
        })?;
        model.validate()?;
        Ok(model)
    }

    /// Checks what serde cannot: time zones, times, days, unique queues.
    pub fn validate(&self) -> Result<(), SupportModelError> {
        let err = |key: String, reason: String| Err(SupportModelError { key, reason });
        if self.queue(&self.default_queue).is_none() {
            return err(
                "default_queue".into(),
                format!("unknown queue `{}`", self.default_queue),
            );
        }
        for (i, q) in self.queues.iter().enumerate() {
            if self.queues[..i].iter().any(|o| o.id == q.id) {
                return err(
                    format!("queues[{i}].id"),
                    format!("queue `{}` declared twice", q.id),
                );
            }
            if TimeZone::get(&q.time_zone).is_err() {
                return err(
                    format!("queues[{i}].time_zone"),
                    format!("unknown time zone `{}`", q.time_zone),
                );
            }
            if q.roles.is_empty() {
                return err(
                    format!("queues[{i}].roles"),
                    "at least one staff role must work the queue".into(),
                );
            }
            for (j, h) in q.hours.iter().enumerate() {
                if parse_days(&h.days).is_none() {
                    return err(
                        format!("queues[{i}].hours[{j}].days"),
                        format!("cannot read `{}` (use mon-fri or mon,wed)", h.days),
                    );
                }
                for (key, t) in [("open", &h.open), ("close", &h.close)] {
                    if parse_time(t).is_none() {
                        return err(
                            format!("queues[{i}].hours[{j}].{key}"),
                            format!("cannot read time `{t}` (use HH:MM)"),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// A queue by id.
    pub fn queue(&self, id: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.id == id)
    }

    /// A queue's name in `lang`; its id where the model does not know it.
    pub fn queue_name<'a>(&'a self, id: &'a str, lang: Language) -> &'a str {
        self.queue(id).map_or(id, |q| q.name.get(lang))
    }

    /// The time zone of a queue's hours and due times; UTC where the model does not know it.
    pub fn queue_zone(&self, id: &str) -> TimeZone {
        self.queue(id)
            .and_then(|q| TimeZone::get(&q.time_zone).ok())
            .unwrap_or(TimeZone::UTC)
    }

    /// Queue ids.
    pub fn queue_ids(&self) -> Vec<&str> {
        self.queues.iter().map(|q| q.id.as_str()).collect()
    }
}

/// Whether a queue is open now, and when that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStatus {
    /// Open at the moment asked about.
    pub open: bool,
    /// When it next opens (if closed), in the queue's time zone.
    pub next_open: Option<String>,
    /// When the customer should hear back, in the queue's time zone.
    pub respond_by: Option<String>,
    /// `next_open` as a time, for wording it in the customer's language.
    #[serde(skip)]
    pub next_open_at: Option<Zoned>,
    /// `respond_by` as a time.
    #[serde(skip)]
    pub respond_by_at: Option<Zoned>,
}

impl QueueStatus {
    /// When the queue next opens, worded for `lang` (empty when it is open).
    pub fn next_open_in(&self, lang: Language) -> String {
        self.next_open_at
            .as_ref()
            .map(|t| time_text(t, lang))
            .unwrap_or_default()
    }

    /// When the customer should hear back, worded for `lang`.
    pub fn respond_by_in(&self, lang: Language) -> String {
        self.respond_by_at
            .as_ref()
            .map(|t| time_text(t, lang))
            .unwrap_or_default()
    }
}

/// A stored time (RFC 3339, UTC to the nanosecond) as a reader of `lang` reads it in `zone`
/// ([`time_text`]); the stored text where it does not parse.
pub fn stored_time_text(at: &str, zone: &TimeZone, lang: Language) -> String {
    at.parse::<Timestamp>()
        .map_or_else(|_| at.to_string(), |t| time_text(&t.to_zoned(zone.clone()), lang))
}

/// A ticket's due time as it is stored (`time_text` in English, `Fri 2026-12-04 17:00 CET`)
/// read back in the queue's `zone`; `None` where it does not parse.
pub fn stored_due(due: &str, zone: &TimeZone) -> Option<Zoned> {
    let mut words = due.split_whitespace().skip(1);
    let (date, time) = (words.next()?, words.next()?);
    let civil: jiff::civil::DateTime = format!("{date}T{time}").parse().ok()?;
    civil.to_zoned(zone.clone()).ok()
}

/// A time as a customer of `lang` reads it: `Tue 2026-12-01 16:22 CET`, `Di, 01.12.2026, 16:22 Uhr`.
pub fn time_text(time: &Zoned, lang: Language) -> String {
    match lang {
        Language::En => time.strftime("%a %Y-%m-%d %H:%M %Z").to_string(),
        Language::De => {
            let day = match time.weekday() {
                Weekday::Monday => "Mo",
                Weekday::Tuesday => "Di",
                Weekday::Wednesday => "Mi",
                Weekday::Thursday => "Do",
                Weekday::Friday => "Fr",
                Weekday::Saturday => "Sa",
                Weekday::Sunday => "So",
            };
            format!("{day}, {} Uhr", time.strftime("%d.%m.%Y, %H:%M"))
        }
    }
}

impl Queue {
    fn intervals(&self) -> Vec<(Vec<Weekday>, Time, Time)> {
        self.hours
            .iter()
            .filter_map(|h| Some((parse_days(&h.days)?, parse_time(&h.open)?, parse_time(&h.close)?)))
            .collect()
    }

    /// Opening intervals that overlap the days around `now`, as absolute zoned times.
    fn windows_near(&self, now: &Zoned, days_ahead: i64) -> Vec<(Zoned, Zoned)> {
        let tz = now.time_zone().clone();
        let mut windows = Vec::new();
        for offset in -1..=days_ahead {
            let Ok(date) = now.date().checked_add(jiff::Span::new().days(offset)) else {
                continue;
            };
            for (days, open, close) in self.intervals() {
                if !days.contains(&date.weekday()) {
                    continue;
                }
                let Ok(start) = date.to_datetime(open).to_zoned(tz.clone()) else {
                    continue;
                };
                let end_date = if close <= open {
                    date.tomorrow().unwrap_or(date)
                } else {
                    date
                };
                let Ok(end) = end_date.to_datetime(close).to_zoned(tz.clone()) else {
                    continue;
                };
                windows.push((start, end));
            }
        }
        windows.sort_by(|a, b| a.0.cmp(&b.0));
        windows
    }

    /// The moment `seconds` of the queue's opening hours after `now` have passed: a response
    /// time is counted in the hours the team works (Monday 15:47 with eight hours to answer and
    /// 09:00-17:00 hours is Tuesday 15:47, not Monday 23:47). `None` without opening hours in the
    /// next weeks.
    fn after_business_hours(windows: &[(Zoned, Zoned)], now: &Zoned, seconds: i64) -> Option<Zoned> {
        let mut remaining = seconds;
        let mut counted_until = now.clone();
        for (start, end) in windows.iter().cloned() {
            let from = if start > counted_until {
                start
            } else {
                counted_until.clone()
            };
            if end <= from {
                continue;
            }
            let available = end.timestamp().as_second() - from.timestamp().as_second();
            if remaining <= available {
                return from.checked_add(jiff::Span::new().seconds(remaining)).ok();
            }
            remaining -= available;
            counted_until = end;
        }
        None
    }

    /// The queue's status at `now`.
    pub fn status_at(&self, now: Timestamp) -> QueueStatus {
        let Ok(tz) = TimeZone::get(&self.time_zone) else {
            return QueueStatus {
                open: false,
                next_open: None,
                respond_by: None,
                next_open_at: None,
                respond_by_at: None,
            };
        };
        let now = now.to_zoned(tz);
        let windows = self.windows_near(&now, 8);
        let open = windows.iter().any(|(s, e)| *s <= now && now < *e);
        let next_open = if open {
            None
        } else {
            windows.iter().find(|(s, _)| *s > now).map(|(s, _)| s.clone())
        };
        let seconds = i64::from(self.response_hours) * 3600;
        // The next eight days hold most response times; six weeks, those of a queue open a few
        // hours a week (computed only then: every window is a time-zone conversion).
        let respond_by = Self::after_business_hours(&windows, &now, seconds)
            .or_else(|| Self::after_business_hours(&self.windows_near(&now, 42), &now, seconds))
            .or_else(|| {
                // No opening hours to count in: the promise is on the wall clock from the next opening.
                let from = next_open.clone().unwrap_or_else(|| now.clone());
                from.checked_add(jiff::Span::new().hours(i64::from(self.response_hours)))
                    .ok()
            });
        let fmt = |z: &Zoned| time_text(z, Language::En);
        QueueStatus {
            open,
            next_open: next_open.as_ref().map(fmt),
            respond_by: respond_by.as_ref().map(fmt),
            next_open_at: next_open,
            respond_by_at: respond_by,
        }
    }

    /// The hours in words, e.g. `mon-fri 08:00-18:00 (Europe/Berlin)`.
    pub fn hours_text(&self) -> String {
        self.hours_text_in(Language::En)
    }

    /// The hours in the customer's language: `Mo-Fr 08:00-18:00 (Europe/Berlin)` in German
    /// (only the day names are translated, never the time zone's name).
    pub fn hours_text_in(&self, lang: Language) -> String {
        const GERMAN_DAYS: [(&str, &str); 7] = [
            ("mon", "Mo"),
            ("tue", "Di"),
            ("wed", "Mi"),
            ("thu", "Do"),
            ("fri", "Fr"),
            ("sat", "Sa"),
            ("sun", "So"),
        ];
        let parts: Vec<String> = self
            .hours
            .iter()
            .map(|h| {
                let days = match lang {
                    Language::En => h.days.clone(),
                    Language::De => GERMAN_DAYS
                        .iter()
                        .fold(h.days.clone(), |days, (en, de)| days.replace(en, de)),
                };
                format!("{days} {}-{}", h.open, h.close)
            })
            .collect();
        format!("{} ({})", parts.join(", "), self.time_zone)
    }
}

/// Renders a price in the customer's language: `95.00 EUR per hour` / `95,00 EUR pro Stunde`.
pub fn price_text(price: &Price, lang: Language) -> String {
    let amount = format!("{:.2}", price.amount);
    match lang {
        Language::En => {
            let per = match price.per {
                PriceUnit::Hour => "per hour",
                PriceUnit::Incident => "per incident",
            };
            format!("{amount} {} {per}", price.currency)
        }
        Language::De => {
            let per = match price.per {
                PriceUnit::Hour => "pro Stunde",
                PriceUnit::Incident => "pro Vorfall",
            };
            format!("{} {} {per}", amount.replace('.', ","), price.currency)
        }
    }
}

/// Map of queue id to its status, for traces.
pub type QueueStatuses = BTreeMap<String, QueueStatus>;

#[cfg(test)]
mod tests {
    #[test]
    fn a_due_time_as_stored_reads_back_in_the_queue_zone() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        for at in [
            "2026-12-04T17:00:00+01:00[Europe/Berlin]",
            "2026-07-01T09:30:00+02:00[Europe/Berlin]",
        ] {
            let due: Zoned = at.parse().unwrap();
            let stored = time_text(&due, Language::En);
            assert_eq!(stored_due(&stored, &zone), Some(due), "{stored}");
        }
        assert_eq!(stored_due("soon", &zone), None);
    }

    use super::*;

    fn queue(days: &str, open: &str, close: &str, tz: &str) -> Queue {
        Queue {
            id: "q".into(),
            name: Localized {
                de: "Q".into(),
                en: "Q".into(),
            },
            time_zone: tz.into(),
            hours: vec![OpeningHours {
                days: days.into(),
                open: open.into(),
                close: close.into(),
            }],
            contact: Localized {
                de: "c".into(),
                en: "c".into(),
            },
            price: None,
            response_hours: 4,
            roles: vec![StaffRole::HelpdeskAgent],
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn check(q: &Queue, now: &str, open: bool, next: Option<&str>) {
        let status = q.status_at(at(now));
        assert_eq!(status.open, open, "{now}: {status:?}");
        match next {
            Some(n) => assert!(
                status.next_open.as_deref().is_some_and(|s| s.contains(n)),
                "{now}: {status:?}"
            ),
            None => assert!(status.next_open.is_none()),
        }
    }

    #[test]
    fn office_hours_in_the_queue_time_zone() {
        let q = queue("mon-fri", "08:00", "18:00", "Europe/Berlin");
        // 2026-11-27 is a Friday. 07:30 UTC is 08:30 in Berlin (CET, UTC+1).
        check(&q, "2026-11-27T07:30:00Z", true, None);
        check(&q, "2026-11-27T06:30:00Z", false, Some("2026-11-27 08:00"));
        // Friday evening: next opening is Monday.
        check(&q, "2026-11-27T18:00:00Z", false, Some("Mon 2026-11-30 08:00"));
    }

    #[test]
    fn hours_across_midnight() {
        let q = queue("mon-fri", "22:00", "06:00", "America/New_York");
        // Tuesday 03:00 in New York (08:00 UTC): inside Monday's night shift.
        check(&q, "2026-12-01T08:00:00Z", true, None);
        // Tuesday 12:00 in New York: closed until 22:00.
        check(&q, "2026-12-01T17:00:00Z", false, Some("2026-12-01 22:00"));
        // Saturday 03:00: Friday's shift runs past midnight.
        check(&q, "2026-12-05T08:00:00Z", true, None);
        // Sunday 03:00: nothing on Saturday night.
        check(&q, "2026-12-06T08:00:00Z", false, Some("Mon 2026-12-07 22:00"));
    }

    #[test]
    fn daylight_saving_is_respected() {
        let q = queue("mon-sun", "09:00", "17:00", "Europe/Berlin");
        // Summer (CEST, UTC+2): 07:30 UTC is 09:30 local.
        check(&q, "2026-07-01T07:30:00Z", true, None);
        // Winter (CET, UTC+1): 07:30 UTC is 08:30 local.
        check(&q, "2026-01-07T07:30:00Z", false, Some("09:00"));
    }

    #[test]
    fn prices_are_decimals_in_both_formats() {
        let p = Price {
            amount: Decimal::from_str_exact("95.5").unwrap(),
            currency: "EUR".into(),
            per: PriceUnit::Hour,
        };
        assert_eq!(price_text(&p, Language::En), "95.50 EUR per hour");
        assert_eq!(price_text(&p, Language::De), "95,50 EUR pro Stunde");
        let err = toml::from_str::<Price>("amount = 95.5\ncurrency = \"EUR\"\nper = \"hour\"").unwrap_err();
        assert!(
            err.to_string().contains("amount"),
            "a float amount is refused: {err}"
        );
    }

    #[test]
    fn invalid_models_name_the_key() {
        let mut q = queue("mon-fri", "8 o'clock", "18:00", "Europe/Berlin");
        let model = |q: Queue| SupportModel {
            partner_name: "P".into(),
            audience: Audience::PartnerCenter,
            default_queue: "q".into(),
            queues: vec![q],
            microsoft: MicrosoftEscalation {
                commercial: true,
                technical: TechnicalEntitlement::None,
            },
            direct_customer_portals: DirectCustomerPortals {
                azure: "a".into(),
                microsoft_365: "m".into(),
                dynamics_365: "d".into(),
            },
        };
        assert_eq!(
            model(q.clone()).validate().unwrap_err().key,
            "queues[0].hours[0].open"
        );
        q.hours[0].open = "08:00".into();
        q.time_zone = "Mars/Olympus".into();
        assert_eq!(model(q).validate().unwrap_err().key, "queues[0].time_zone");
    }
}
