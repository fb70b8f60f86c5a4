//! OpenAPI schemas of the values requests carry, as strict as their parsers: what a
//! schema admits parses (the tests below generate from the patterns' edges), so a tool
//! that generates requests from `/openapi.json` sends valid ones.
//!
//! Texts are trimmed and free of control characters, so their patterns admit no leading
//! or trailing white space and no control character (line breaks inside free text).

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;

use super::text::Lines;
use super::{Country, Currency, Email, Money, Quantity, Sku, StockLevel};

/// Rust's control characters (Unicode category Cc), as a character-class range.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// The same without tab, line feed and carriage return.
const CONTROL_BUT_BREAKS: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A text of 1..=`max` characters as `bounded` takes it (each text value's `schema`).
pub(super) fn text(max: usize, lines: Lines) -> RefOr<Schema> {
    let inner = match lines {
        Lines::One => CONTROL,
        Lines::Many => CONTROL_BUT_BREAKS,
    };
    string()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!(
            r"^[^\s{CONTROL}](?:[^{inner}]*[^\s{CONTROL}])?$"
        )))
        .into()
}

/// A UUID.
pub(super) fn uuid() -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .into()
}

impl Email {
    /// Its OpenAPI schema: one `@`, a name before it, a domain with a dot after it, no
    /// white space or control character.
    pub fn schema() -> RefOr<Schema> {
        let part = format!(r"[^\s@.{CONTROL}]+");
        string()
            .min_length(Some(3))
            .max_length(Some(Self::MAX))
            .pattern(Some(format!(r"^[^\s@{CONTROL}]+@{part}(?:\.{part})+$")))
            .into()
    }
}

impl Sku {
    /// Its OpenAPI schema.
    pub fn schema() -> RefOr<Schema> {
        string()
            .min_length(Some(1))
            .max_length(Some(Self::MAX))
            .pattern(Some(format!("^[A-Za-z0-9._-]{{1,{}}}$", Self::MAX)))
            .into()
    }
}

impl Country {
    /// Its OpenAPI schema: one of the ISO 3166-1 alpha-2 codes.
    pub fn schema() -> RefOr<Schema> {
        string()
            .enum_values(Some(super::address::ISO_3166_ALPHA_2.split_whitespace()))
            .into()
    }
}

impl Currency {
    /// Its OpenAPI schema.
    pub fn schema() -> RefOr<Schema> {
        string().pattern(Some("^[A-Z]{3}$")).into()
    }
}

impl Money {
    /// The OpenAPI schema of a request's amount: a decimal string of at most two
    /// fraction digits, up to 1000000.00.
    pub fn amount_schema() -> RefOr<Schema> {
        string()
            .pattern(Some(
                r"^(?:[0-9]{1,6}(?:\.[0-9]{1,2})?|1000000(?:\.0{1,2})?)$",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl Quantity {
    /// Its OpenAPI schema.
    pub fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(Self::MIN))
            .maximum(Some(Self::MAX))
            .into()
    }
}

impl StockLevel {
    /// Its OpenAPI schema.
    pub fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(Self::MAX))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{PersonName, Reason};

    fn json(schema: RefOr<Schema>) -> serde_json::Value {
        serde_json::to_value(schema).expect("json")
    }

    /// The schema's pattern, as a regex (JSON Schema patterns are ECMA 262; these use
    /// only what both dialects read alike).
    fn pattern(schema: RefOr<Schema>) -> regex::Regex {
        regex::Regex::new(json(schema)["pattern"].as_str().expect("pattern")).expect("regex")
    }

    /// Each sample: whether the pattern admits it, and whether the parser does, agree
    /// wherever the pattern admits (the schema may be stricter, never looser).
    fn admitted_values_parse(
        schema: RefOr<Schema>,
        parses: impl Fn(&str) -> bool,
        samples: &[&str],
    ) {
        let pattern = pattern(schema);
        for sample in samples {
            if pattern.is_match(sample) {
                assert!(
                    parses(sample),
                    "the schema admits {sample:?}, the parser refuses it"
                );
            }
        }
    }

    const TEXTS: &[&str] = &[
        "Ada",
        " Ada",
        "Ada ",
        "A da",
        "A\u{7}da",
        "A\u{85}da",
        "two\nlines",
        "tab\there",
        "",
        "\u{a0}x",
        "x\u{2003}",
        "Zoë",
        "😀",
        "a\u{0}b",
        "\n",
        " ",
    ];

    #[test]
    fn admitted_texts_parse() {
        admitted_values_parse(
            PersonName::schema(),
            |s| PersonName::parse(s).is_ok_and(|p| p.as_str() == s),
            TEXTS,
        );
        admitted_values_parse(
            Reason::schema(),
            |s| Reason::parse(s).is_ok_and(|r| r.as_str() == s),
            TEXTS,
        );
        assert!(pattern(Reason::schema()).is_match("two\nlines"));
        assert!(!pattern(PersonName::schema()).is_match("two\nlines"));
        assert!(!pattern(PersonName::schema()).is_match(" Ada"));
    }

    #[test]
    fn admitted_emails_skus_currencies_and_amounts_parse() {
        admitted_values_parse(
            Email::schema(),
            |s| Email::parse(s).is_ok(),
            &[
                "a@b.co",
                "a@b",
                "a@.b.co",
                "a@b.co.",
                "a@b..co",
                "@b.co",
                "a b@c.de",
                "a@b@c.de",
                "x.y+z@mail.example",
            ],
        );
        assert!(pattern(Email::schema()).is_match("ada@example.com"));
        admitted_values_parse(
            Sku::schema(),
            |s| Sku::parse(s).is_ok(),
            &["SKU-1", "a.b_c", "a b", "ü", ""],
        );
        admitted_values_parse(
            Currency::schema(),
            |s| Currency::parse(s).is_ok(),
            &["EUR", "eur", "EURO", "E1R"],
        );
        admitted_values_parse(
            Money::amount_schema(),
            |s| Money::parse_amount_minor(s).is_ok(),
            &[
                "0",
                "12.5",
                "12.50",
                "12.505",
                "1000000",
                "1000000.00",
                "1000000.01",
                "999999.99",
                "-1",
                "1e3",
                ".5",
                "5.",
            ],
        );
        assert!(pattern(Money::amount_schema()).is_match("12.50"));
    }

    #[test]
    fn limits_come_from_the_values() {
        assert_eq!(json(PersonName::schema())["maxLength"], PersonName::MAX);
        assert_eq!(json(Sku::schema())["maxLength"], Sku::MAX);
        assert_eq!(json(Quantity::schema())["maximum"], Quantity::MAX);
        assert_eq!(json(StockLevel::schema())["maximum"], StockLevel::MAX);
        let countries = json(Country::schema())["enum"].clone();
        let countries = countries.as_array().expect("enum");
        assert_eq!(countries.len(), 249);
        assert!(countries
            .iter()
            .all(|c| Country::parse(c.as_str().expect("code")).is_ok()));
    }
}
