//! The tantivy schema: one set of text fields per language, stored fields for citations.

use crate::model::Language;
use tantivy::index::{IndexSettings, IndexSortByField, Order};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::Index;

#[derive(Clone, Copy)]
pub(super) struct LangFields {
    pub(super) title: Field,
    pub(super) heading: Field,
    pub(super) body: Field,
    /// The words other documents link to the section's document with.
    pub(super) link_text: Field,
}

#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) path: Field,
    pub(super) anchor: Field,
    pub(super) heading_text: Field,
    pub(super) lang: Field,
    pub(super) products: Field,
    pub(super) audience: Field,
    pub(super) roles: Field,
    pub(super) date: Field,
    pub(super) links: Field,
    pub(super) linked: Field,
    pub(super) line: Field,
    /// 1 when the section's text is only the texts of its links (see `Section::is_links_only`).
    pub(super) links_only: Field,
    /// The section's place in the ingested order: the index is sorted by it.
    pub(super) ordinal: Field,
    pub(super) de: LangFields,
    pub(super) en: LangFields,
}

impl Fields {
    pub(super) fn of(&self, lang: Language) -> LangFields {
        match lang {
            Language::De => self.de,
            Language::En => self.en,
        }
    }
}

pub(super) fn tokenizer_name(lang: Language) -> &'static str {
    match lang {
        Language::De => "switchboard_de",
        Language::En => "switchboard_en",
    }
}

/// The field documents are sorted by.
const ORDINAL_FIELD: &str = "ordinal";

/// A new index of `schema`, its documents in the order they were ingested, whichever indexing
/// thread took them and however their segments were merged: a document's id, and so the order
/// of results with equal scores, is the same in every build of the same guidance.
pub(super) fn index_builder(schema: Schema) -> tantivy::IndexBuilder {
    Index::builder().schema(schema).settings(IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: ORDINAL_FIELD.into(),
            order: Order::Asc,
        }),
        ..IndexSettings::default()
    })
}

pub(super) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |lang: Language, stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer_name(lang))
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let path = b.add_text_field("path", STRING | STORED);
    let anchor = b.add_text_field("anchor", STORED);
    let heading_text = b.add_text_field("heading", STORED);
    let lang = b.add_text_field("lang", STRING | STORED);
    let products = b.add_text_field("products", STRING | STORED);
    let audience = b.add_text_field("audience", STORED);
    let roles = b.add_text_field("roles", STORED);
    let date = b.add_text_field("date", STORED);
    let links = b.add_text_field("links", STORED);
    let linked = b.add_text_field("linked", STORED);
    let line = b.add_u64_field("line", STORED | FAST);
    let links_only = b.add_u64_field("links_only", STORED);
    let ordinal = b.add_u64_field(ORDINAL_FIELD, FAST);
    let mut lang_fields = |l: Language| LangFields {
        title: b.add_text_field(&format!("title_{l}"), text(l, true)),
        heading: b.add_text_field(&format!("headings_{l}"), text(l, false)),
        body: b.add_text_field(&format!("body_{l}"), text(l, true)),
        link_text: b.add_text_field(&format!("link_text_{l}"), text(l, false)),
    };
    let de = lang_fields(Language::De);
    let en = lang_fields(Language::En);
    let fields = Fields {
        path,
        anchor,
        heading_text,
        lang,
        products,
        audience,
        roles,
        date,
        links,
        linked,
        line,
        links_only,
        ordinal,
        de,
        en,
    };
    (b.build(), fields)
}
