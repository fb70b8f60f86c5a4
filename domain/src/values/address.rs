//! Postal addresses and countries.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AddressLabel, AddressLine, City, PostalCode};
use crate::validation::ValueError;

/// Every officially assigned ISO 3166-1 alpha-2 code.
pub(crate) const ISO_3166_ALPHA_2: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE \
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM \
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A country as an upper-case ISO 3166-1 alpha-2 code (`DE`, `FR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

impl Country {
    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
        let text = text.as_ref().trim();
        match text.as_bytes() {
            &[a, b]
                if a.is_ascii_uppercase()
                    && b.is_ascii_uppercase()
                    && ISO_3166_ALPHA_2.split(' ').any(|c| c == text) =>
            {
                Ok(Self([a, b]))
            }
            _ => Err(ValueError::Invalid(
                "must be an upper-case ISO 3166-1 alpha-2 country code",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl TryFrom<String> for Country {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, ValueError> {
        Self::parse(text)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> String {
        country.as_str().to_owned()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    pub label: Option<AddressLabel>,
    pub line1: AddressLine,
    pub line2: Option<AddressLine>,
    pub city: City,
    pub postal_code: PostalCode,
    pub country: Country,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_assigned_upper_case_codes() {
        assert_eq!(ISO_3166_ALPHA_2.split(' ').count(), 249);
        for ok in ["DE", "FR", "US", "GB", "ZW"] {
            assert!(Country::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["de", "XX", "UK", "DEU", "D", ""] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
    }
}
