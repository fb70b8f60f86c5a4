//! Money: integer minor units and a currency. No floating point anywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// An ISO 4217-style currency code: three upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
        match text.as_ref().trim().as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(ValueError::Invalid("must be 3 upper-case letters")),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl TryFrom<String> for Currency {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, ValueError> {
        Self::parse(text)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why money arithmetic failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

/// An amount in minor units (cents) of a currency; every currency has two fraction digits.
/// Serialised as `{"amount": "12.50", "currency": "EUR"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// The largest amount a request may state: 1,000,000.00.
    pub const MAX_INPUT_MINOR: i64 = 100_000_000;

    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Parses an amount as a request states it: a decimal string with at most two
    /// fraction digits, `0 <= amount <= 1000000.00`.
    pub fn parse_amount(amount: &str, currency: Currency) -> Result<Self, ValueError> {
        Ok(Self {
            minor: Self::parse_amount_minor(amount)?,
            currency,
        })
    }

    /// The minor units of an amount as a request states it (see [`Money::parse_amount`]).
    pub fn parse_amount_minor(amount: &str) -> Result<i64, ValueError> {
        let minor = parse_minor(amount)?;
        if minor > Self::MAX_INPUT_MINOR {
            return Err(ValueError::Invalid("must be at most 1000000.00"));
        }
        Ok(minor)
    }

    pub const fn minor(&self) -> i64 {
        self.minor
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount as a decimal string with two fraction digits: `"12.50"`.
    pub fn amount(&self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self {
            minor,
            currency: self.currency,
        })
    }

    pub fn checked_mul(self, factor: u32) -> Result<Self, MoneyError> {
        let minor = self
            .minor
            .checked_mul(i64::from(factor))
            .ok_or(MoneyError::Overflow)?;
        Ok(Self {
            minor,
            currency: self.currency,
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

/// `digits[.d[d]]`, no sign, no exponent, no spaces.
fn parse_minor(text: &str) -> Result<i64, ValueError> {
    const FORMAT: ValueError = ValueError::Invalid("must be a decimal string such as \"12.50\"");
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FORMAT);
    }
    if text.contains('.') && fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FORMAT);
    }
    if fraction.len() > 2 {
        return Err(ValueError::Invalid("must have at most 2 fraction digits"));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| ValueError::Invalid("is too large"))?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| FORMAT)?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or(ValueError::Invalid("is too large"))
}

#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = ValueError;
    /// Stored amounts (totals) are not bound by the request limit.
    fn try_from(repr: MoneyRepr) -> Result<Self, ValueError> {
        Ok(Self {
            minor: parse_minor(&repr.amount)?,
            currency: repr.currency,
        })
    }
}

impl From<Money> for MoneyRepr {
    fn from(money: Money) -> Self {
        Self {
            amount: money.amount(),
            currency: money.currency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    #[test]
    fn parses_request_amounts() {
        let ok = |s: &str| Money::parse_amount(s, eur()).map(|m| m.minor());
        assert_eq!(ok("12.50"), Ok(1250));
        assert_eq!(ok("12.5"), Ok(1250));
        assert_eq!(ok("12"), Ok(1200));
        assert_eq!(ok("0"), Ok(0));
        assert_eq!(ok("1000000.00"), Ok(100_000_000));
        for bad in [
            "",
            "12.505",
            "-1",
            "+1",
            "1e3",
            "12.",
            ".5",
            "1 000",
            "1,5",
            "1000000.01",
            "abc",
            "99999999999999999999",
        ] {
            assert!(ok(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(
            ok("12.505"),
            Err(ValueError::Invalid("must have at most 2 fraction digits"))
        );
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serialises_as_amount_string_and_currency() {
        let money = Money::from_minor(1250, eur());
        let json = serde_json::to_value(money).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({"amount": "12.50", "currency": "EUR"})
        );
        assert_eq!(
            serde_json::from_value::<Money>(json).expect("deserialise"),
            money
        );
    }
}
