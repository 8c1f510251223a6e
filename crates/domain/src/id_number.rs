//! 公民身份号码 (citizen ID number) per GB 11643-1999.
//!
//! The ID number is personal data. [`IdNumber`] keeps the full number for storage and the API
//! (serde uses the full string), but its `Display` and `Debug` print only the masked form
//! (see [`IdNumber::masked`]), so an accidental `{}` or `{:?}` in a log line never leaks it.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::member::Gender;

/// Length of a current (second-generation) 公民身份号码.
pub const ID_NUMBER_LENGTH: usize = 18;
/// Length of the legacy first-generation number, refused by [`IdNumber::parse`].
pub const LEGACY_ID_NUMBER_LENGTH: usize = 15;

/// Weights of the first 17 digits in the check-digit sum (GB 11643-1999).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by (weighted sum mod 11) (GB 11643-1999).
const CHECK_CHARACTERS: [u8; 11] = *b"10X98765432";

/// Why a string is not a valid 公民身份号码, or why it contradicts a member record.
///
/// The variants never carry the number itself, so the error may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// A 15-digit first-generation number; only the 18-character number is accepted.
    #[error("legacy 15-digit ID number; the 18-character number is required")]
    LegacyFifteenDigits,
    /// Not 18 characters (after trimming surrounding whitespace).
    #[error("ID number must have 18 characters, got {length}")]
    WrongLength {
        /// Number of characters found.
        length: usize,
    },
    /// A non-digit among the first 17 characters, or a last character other than a digit or X.
    #[error("invalid character at position {position} of the ID number")]
    InvalidCharacter {
        /// 1-based character position.
        position: usize,
    },
    /// The birth date in positions 7–14 is not a real date, or is before 1900-01-01.
    #[error("the birth date embedded in the ID number is invalid")]
    InvalidBirthDate,
    /// The 18th character is not the check character computed from the first 17 digits.
    #[error("ID number check digit mismatch")]
    CheckDigitMismatch,
    /// The member record's birth date differs from the one embedded in the ID number.
    #[error("birth date does not match the ID number")]
    BirthDateMismatch,
}

impl IdNumberError {
    /// Stable code used in the HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LegacyFifteenDigits => "id_number_legacy_15",
            Self::WrongLength { .. } => "id_number_length",
            Self::InvalidCharacter { .. } => "id_number_character",
            Self::InvalidBirthDate => "id_number_birth_date",
            Self::CheckDigitMismatch => "id_number_check_digit",
            Self::BirthDateMismatch => "birth_date_mismatch",
        }
    }

    /// Message for end users, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::LegacyFifteenDigits => {
                "这是15位旧版身份证号码，请填写18位公民身份号码".to_owned()
            }
            Self::WrongLength { length } => {
                format!("公民身份号码应为18位，当前为{length}位")
            }
            Self::InvalidCharacter { position } => {
                format!("公民身份号码第{position}位字符无效（前17位应为数字，第18位应为数字或X）")
            }
            Self::InvalidBirthDate => "公民身份号码中的出生日期无效".to_owned(),
            Self::CheckDigitMismatch => "公民身份号码校验位不正确".to_owned(),
            Self::BirthDateMismatch => "出生日期与公民身份号码不一致".to_owned(),
        }
    }
}

/// A valid 18-character 公民身份号码, normalized: exactly 18 ASCII characters, the first 17
/// digits, the check character a digit or upper-case `X`.
///
/// `Display` and `Debug` print the masked form; serde uses the full number, and deserializing
/// goes through [`IdNumber::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, example = "11010519491231002X")
)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses and validates a 公民身份号码 (GB 11643-1999).
    ///
    /// Rules, checked in this order:
    /// 1. Surrounding ASCII whitespace is trimmed (inner whitespace is an invalid character).
    /// 2. 15 ASCII digits: [`IdNumberError::LegacyFifteenDigits`]; any other length than 18
    ///    characters: [`IdNumberError::WrongLength`].
    /// 3. Positions 1–17 must be ASCII digits, position 18 a digit or `X`; a lower-case `x` is
    ///    accepted (people often type it) and normalized to `X`. Otherwise
    ///    [`IdNumberError::InvalidCharacter`] with the 1-based position.
    /// 4. Positions 7–14 (YYYYMMDD) must be a real calendar date, not before 1900-01-01:
    ///    [`IdNumberError::InvalidBirthDate`]. A date in the future is not refused here: the
    ///    domain has no clock; callers that know today may check it.
    /// 5. Check character: the sum of the first 17 digits times the weights
    ///    7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, modulo 11, indexes "10X98765432":
    ///    [`IdNumberError::CheckDigitMismatch`].
    ///
    /// The 6-digit administrative division code is not checked against a code list.
    pub fn parse(input: &str) -> Result<IdNumber, IdNumberError> {
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let length = trimmed.chars().count();
        if length == LEGACY_ID_NUMBER_LENGTH && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::LegacyFifteenDigits);
        }
        if length != ID_NUMBER_LENGTH {
            return Err(IdNumberError::WrongLength { length });
        }

        let mut normalized = String::with_capacity(ID_NUMBER_LENGTH);
        for (index, c) in trimmed.chars().enumerate() {
            let position = index + 1;
            let accepted = match c {
                '0'..='9' => c,
                'X' | 'x' if position == ID_NUMBER_LENGTH => 'X',
                _ => return Err(IdNumberError::InvalidCharacter { position }),
            };
            normalized.push(accepted);
        }

        let id = IdNumber(normalized);
        id.embedded_birth_date()?;
        if id.0.as_bytes().get(17).copied() != Some(check_character(&id.0)?) {
            return Err(IdNumberError::CheckDigitMismatch);
        }
        Ok(id)
    }

    /// Converts a first-generation 15-digit number to the 18-character one, by the standard
    /// rule (GB 11643-1999): the two-digit birth year becomes `19YY` (first-generation cards
    /// were issued to people born in the 1900s), then the check character is computed. The
    /// embedded birth date must be a real date. Elderly members, whom the campaign most needs to
    /// find, often have only the old number on paper.
    pub fn from_legacy(input: &str) -> Result<IdNumber, IdNumberError> {
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.len() != LEGACY_ID_NUMBER_LENGTH || !trimmed.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(IdNumberError::WrongLength {
                length: trimmed.chars().count(),
            });
        }
        let (region, rest) = trimmed.split_at(6);
        let body = format!("{region}19{rest}");
        let check = check_character(&body)?;
        let mut number = body;
        number.push(char::from(check));
        let id = IdNumber(number);
        id.embedded_birth_date()?;
        Ok(id)
    }

    /// Whether `input` is a first-generation 15-digit number (digits only).
    pub fn is_legacy(input: &str) -> bool {
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        trimmed.len() == LEGACY_ID_NUMBER_LENGTH && trimmed.bytes().all(|b| b.is_ascii_digit())
    }

    /// The full, normalized number. Do not log it; log [`IdNumber::masked`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date embedded in positions 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        // Validated by `parse`; the fallback is unreachable for a constructed IdNumber.
        self.embedded_birth_date().unwrap_or(NaiveDate::MIN)
    }

    /// The sex encoded in the 17th digit (the last digit of the sequence code):
    /// odd = male, even = female.
    pub fn gender(&self) -> Gender {
        // ASCII '0' is even, so the parity of the byte is the parity of the digit.
        let digit = self.0.as_bytes().get(16).copied().unwrap_or(b'0');
        if digit % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The masked form: the first 4 and the last 2 characters, the other 12 replaced by `*`
    /// (e.g. `1101************2X`).
    ///
    /// This is the **only** form of the ID number that may be written to logs. `Display` and
    /// `Debug` print it too.
    pub fn masked(&self) -> String {
        let head = self.0.get(..4).unwrap_or_default();
        let tail = self.0.get(ID_NUMBER_LENGTH - 2..).unwrap_or_default();
        format!("{head}{}{tail}", "*".repeat(ID_NUMBER_LENGTH - 6))
    }

    fn embedded_birth_date(&self) -> Result<NaiveDate, IdNumberError> {
        let digits = self.0.get(6..14).ok_or(IdNumberError::InvalidBirthDate)?;
        let number = |range: std::ops::Range<usize>| -> Result<u32, IdNumberError> {
            digits
                .get(range)
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or(IdNumberError::InvalidBirthDate)
        };
        let year = i32::try_from(number(0..4)?).map_err(|_| IdNumberError::InvalidBirthDate)?;
        let date = NaiveDate::from_ymd_opt(year, number(4..6)?, number(6..8)?)
            .ok_or(IdNumberError::InvalidBirthDate)?;
        if date.year() < 1900 {
            return Err(IdNumberError::InvalidBirthDate);
        }
        Ok(date)
    }
}

/// The check character for the first 17 digits of `number` (GB 11643-1999).
fn check_character(number: &str) -> Result<u8, IdNumberError> {
    let mut sum = 0;
    for (position, (byte, weight)) in number.bytes().zip(WEIGHTS).enumerate() {
        if !byte.is_ascii_digit() {
            return Err(IdNumberError::InvalidCharacter {
                position: position + 1,
            });
        }
        sum += u32::from(byte - b'0') * weight;
    }
    let index = usize::try_from(sum % 11).unwrap_or(0);
    Ok(CHECK_CHARACTERS.get(index).copied().unwrap_or(b'0'))
}

/// A member record's birth date must agree with its ID number.
///
/// The birth date is part of both the member record and the 公民身份号码 (docs/domain.md §5.2:
/// "出生日期 date of birth; 公民身份号码 ID number"); a record where they differ is refused with
/// [`IdNumberError::BirthDateMismatch`].
pub fn birth_date_matches(id: &IdNumber, birth_date: NaiveDate) -> Result<(), IdNumberError> {
    if id.birth_date() == birth_date {
        Ok(())
    } else {
        Err(IdNumberError::BirthDateMismatch)
    }
}

impl fmt::Display for IdNumber {
    /// Prints the masked form only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    /// Prints the masked form only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

impl std::str::FromStr for IdNumber {
    type Err = IdNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdNumber::parse(s)
    }
}

impl Serialize for IdNumber {
    /// The full number (the API and storage need it).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IdNumber {
    /// Goes through [`IdNumber::parse`], so an invalid number is never deserialized.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        IdNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {

    /// The vectors the field app's check is tested against too (`testdata/id_numbers.json`).
    #[test]
    fn the_shared_test_vectors_hold() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/id_numbers.json")).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 10);
        for v in vectors {
            let input = v["input"].as_str().unwrap();
            let result = if v["legacy"].as_bool() == Some(true) {
                assert!(IdNumber::is_legacy(input), "{input}");
                IdNumber::from_legacy(input)
            } else {
                IdNumber::parse(input)
            };
            if v["valid"].as_bool().unwrap() {
                let id = result.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(id.as_str(), v["normalized"].as_str().unwrap());
                assert_eq!(
                    id.birth_date().to_string(),
                    v["birth_date"].as_str().unwrap()
                );
                let gender = match id.gender() {
                    Gender::Male => "male",
                    Gender::Female => "female",
                };
                assert_eq!(gender, v["gender"].as_str().unwrap(), "{input}");
            } else {
                let error = result.err().unwrap_or_else(|| panic!("{input} accepted"));
                assert_eq!(error.code(), v["code"].as_str().unwrap(), "{input}");
            }
        }
    }

    #[test]
    fn fifteen_digit_numbers_convert_to_eighteen() {
        // 110105 491231 002 → 110105 19491231 002 + check character.
        let id = IdNumber::from_legacy("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(
            IdNumber::parse(id.as_str()).is_ok(),
            "the result is a valid number"
        );
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(IdNumber::is_legacy(" 110105491231002 "));
        assert!(!IdNumber::is_legacy("11010519491231002X"));
        // Not a real birth date.
        assert_eq!(
            IdNumber::from_legacy("110105491331002"),
            Err(IdNumberError::InvalidBirthDate)
        );
        assert!(IdNumber::from_legacy("11010549123100").is_err());
        assert!(IdNumber::from_legacy("11010549123100A").is_err());
    }

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Appends the correct check character to 17 digits.
    fn with_check(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        let check = check_character(first17).unwrap();
        format!("{first17}{}", char::from(check))
    }

    /// The same number with a wrong (but well-formed) check character.
    fn with_wrong_check(first17: &str) -> String {
        let right = with_check(first17);
        let wrong = if right.ends_with('0') { '1' } else { '0' };
        format!("{first17}{wrong}")
    }

    #[test]
    fn well_known_examples_verified_by_hand() {
        // 11010519491231002: 1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3
        // + 1·7 + 2·9 + 3·10 + 1·5 + 0·8 + 0·4 + 2·2 = 167; 167 mod 11 = 2 → 'X'.
        // 44052418800101001: 4·7 + 4·9 + 0·10 + 5·5 + 2·8 + 4·4 + 1·2 + 8·1 + 8·6 + 0·3
        // + 0·7 + 1·9 + 0·10 + 1·5 + 0·8 + 0·4 + 1·2 = 195; 195 mod 11 = 8 → '4'.
        // 44052419800101001: as above with 9 instead of 8 at position 9 (weight 1): 196;
        // 196 mod 11 = 9 → '3'.
        let table: &[(&str, &str, NaiveDate, Gender)] = &[
            (
                "11010519491231002X",
                "11010519491231002X",
                d(1949, 12, 31),
                Gender::Female,
            ),
            (
                "440524188001010014",
                "440524188001010014",
                d(1880, 1, 1),
                Gender::Male,
            ),
            (
                "440524198001010013",
                "440524198001010013",
                d(1980, 1, 1),
                Gender::Male,
            ),
        ];
        // 1880 is before 1900, so the second one is refused on its birth date even though its
        // check digit is right; the check digit is verified separately.
        for (input, normalized, birth, gender) in table {
            let first17 = input.get(..17).unwrap();
            assert_eq!(with_check(first17), *normalized);
            if birth.year() >= 1900 {
                let id = IdNumber::parse(input).unwrap();
                assert_eq!(id.as_str(), *normalized);
                assert_eq!(id.birth_date(), *birth);
                assert_eq!(id.gender(), *gender);
            } else {
                assert_eq!(IdNumber::parse(input), Err(IdNumberError::InvalidBirthDate));
            }
        }
    }

    #[test]
    fn valid_numbers() {
        let table: &[(String, NaiveDate, Gender)] = &[
            (with_check("11010519800101001"), d(1980, 1, 1), Gender::Male),
            (
                with_check("11010519800101002"),
                d(1980, 1, 1),
                Gender::Female,
            ),
            (with_check("31011519560307123"), d(1956, 3, 7), Gender::Male),
            (
                with_check("44030620000229004"),
                d(2000, 2, 29),
                Gender::Female,
            ),
            (with_check("65010219000101005"), d(1900, 1, 1), Gender::Male),
            (
                with_check("21010219991231998"),
                d(1999, 12, 31),
                Gender::Female,
            ),
        ];
        for (input, birth, gender) in table {
            let id = IdNumber::parse(input).unwrap();
            assert_eq!(id.as_str(), input);
            assert_eq!(id.birth_date(), *birth, "{input}");
            assert_eq!(id.gender(), *gender, "{input}");
            assert_eq!(birth_date_matches(&id, *birth), Ok(()));
        }
    }

    #[test]
    fn normalization() {
        let table: &[(&str, &str)] = &[
            ("11010519491231002x", "11010519491231002X"),
            ("  11010519491231002X\t\n", "11010519491231002X"),
            (" 11010519491231002x ", "11010519491231002X"),
        ];
        for (input, expected) in table {
            assert_eq!(
                IdNumber::parse(input).unwrap().as_str(),
                *expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_numbers() {
        let table: &[(String, IdNumberError)] = &[
            // Wrong check digit.
            (
                "110105194912310021".to_owned(),
                IdNumberError::CheckDigitMismatch,
            ),
            (
                with_wrong_check("11010519800101001"),
                IdNumberError::CheckDigitMismatch,
            ),
            // 30 February does not exist; 29 February only in leap years.
            (
                with_check("11010519990230001"),
                IdNumberError::InvalidBirthDate,
            ),
            (
                with_check("11010519990229001"),
                IdNumberError::InvalidBirthDate,
            ),
            (
                with_check("11010519991301001"),
                IdNumberError::InvalidBirthDate,
            ),
            (
                with_check("11010519990100001"),
                IdNumberError::InvalidBirthDate,
            ),
            (
                with_check("11010518991231001"),
                IdNumberError::InvalidBirthDate,
            ),
            (
                with_check("11010500000101001"),
                IdNumberError::InvalidBirthDate,
            ),
            // Legacy and wrong lengths.
            (
                "110105491231002".to_owned(),
                IdNumberError::LegacyFifteenDigits,
            ),
            (
                "11010549123100X".to_owned(),
                IdNumberError::WrongLength { length: 15 },
            ),
            (
                "11010519491231002".to_owned(),
                IdNumberError::WrongLength { length: 17 },
            ),
            (
                "11010519491231002X1".to_owned(),
                IdNumberError::WrongLength { length: 19 },
            ),
            ("".to_owned(), IdNumberError::WrongLength { length: 0 }),
            ("   ".to_owned(), IdNumberError::WrongLength { length: 0 }),
            // Characters.
            (
                "A1010519491231002X".to_owned(),
                IdNumberError::InvalidCharacter { position: 1 },
            ),
            (
                "11010519491231002Y".to_owned(),
                IdNumberError::InvalidCharacter { position: 18 },
            ),
            (
                "1101051949123100X2".to_owned(),
                IdNumberError::InvalidCharacter { position: 17 },
            ),
            (
                "110105 9491231002X".to_owned(),
                IdNumberError::InvalidCharacter { position: 7 },
            ),
            (
                "11010519491231-02X".to_owned(),
                IdNumberError::InvalidCharacter { position: 15 },
            ),
            // Full-width digit: 18 characters, position counted in characters.
            (
                "１1010519491231002X".to_owned(),
                IdNumberError::InvalidCharacter { position: 1 },
            ),
        ];
        for (input, expected) in table {
            assert_eq!(IdNumber::parse(input), Err(expected.clone()), "{input:?}");
        }
    }

    #[test]
    fn error_codes_and_messages() {
        let table: &[(IdNumberError, &str, &str)] = &[
            (
                IdNumberError::LegacyFifteenDigits,
                "id_number_legacy_15",
                "这是15位旧版身份证号码，请填写18位公民身份号码",
            ),
            (
                IdNumberError::WrongLength { length: 17 },
                "id_number_length",
                "公民身份号码应为18位，当前为17位",
            ),
            (
                IdNumberError::InvalidCharacter { position: 3 },
                "id_number_character",
                "公民身份号码第3位字符无效（前17位应为数字，第18位应为数字或X）",
            ),
            (
                IdNumberError::InvalidBirthDate,
                "id_number_birth_date",
                "公民身份号码中的出生日期无效",
            ),
            (
                IdNumberError::CheckDigitMismatch,
                "id_number_check_digit",
                "公民身份号码校验位不正确",
            ),
            (
                IdNumberError::BirthDateMismatch,
                "birth_date_mismatch",
                "出生日期与公民身份号码不一致",
            ),
        ];
        for (error, code, message) in table {
            assert_eq!(error.code(), *code);
            assert_eq!(error.message_zh(), *message);
        }
    }

    #[test]
    fn birth_date_must_match_record() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let table: &[(NaiveDate, Result<(), IdNumberError>)] = &[
            (d(1949, 12, 31), Ok(())),
            (d(1949, 12, 30), Err(IdNumberError::BirthDateMismatch)),
            (d(1950, 1, 1), Err(IdNumberError::BirthDateMismatch)),
        ];
        for (birth, expected) in table {
            assert_eq!(birth_date_matches(&id, *birth), *expected, "{birth}");
        }
    }

    #[test]
    fn masking_never_shows_the_full_number() {
        let table: &[(&str, &str)] = &[
            ("11010519491231002X", "1101************2X"),
            ("440524198001010013", "4405************13"),
        ];
        for (input, masked) in table {
            let id = IdNumber::parse(&with_check(input.get(..17).unwrap())).unwrap();
            let full = id.as_str().to_owned();
            assert_eq!(id.masked(), *masked);
            assert_eq!(id.masked().chars().count(), 18);
            assert_eq!(format!("{id}"), *masked);
            assert_eq!(id.to_string(), *masked);
            let debug = format!("{id:?}");
            let pretty = format!("{id:#?}");
            assert_eq!(debug, format!("IdNumber({masked:?})"));
            for shown in [id.masked(), id.to_string(), debug, pretty] {
                assert!(!shown.contains(&full), "{shown}");
                // The birth date (positions 7-14) is never shown.
                assert!(!shown.contains(full.get(6..14).unwrap()), "{shown}");
            }
        }
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn openapi_schema_is_a_string() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(IdNumber::schema()).unwrap();
        assert_eq!(schema["type"], "string", "{schema}");
    }

    #[test]
    fn serde_uses_the_full_number_and_validates() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"11010519491231002X\""
        );
        let table: &[(&str, Option<&str>)] = &[
            ("\"11010519491231002X\"", Some("11010519491231002X")),
            ("\"11010519491231002x\"", Some("11010519491231002X")),
            ("\"110105194912310021\"", None),
            ("\"110105491231002\"", None),
            ("12345", None),
        ];
        for (json, expected) in table {
            let parsed = serde_json::from_str::<IdNumber>(json).ok();
            assert_eq!(parsed.as_ref().map(IdNumber::as_str), *expected, "{json}");
        }
    }
}

/// Properties over generated numbers, beside the hand-picked cases above.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// The check character by GB 11643-1999, written out here apart from the code under test.
    fn gb11643_check(first17: &[u8]) -> char {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17
            .iter()
            .zip(weights)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        char::from(b"10X98765432"[(sum % 11) as usize])
    }

    /// A region code, a real birth date from 1900 on and a sequence number: the 17 digits of a
    /// valid number, and its birth date.
    fn first17() -> impl Strategy<Value = (String, NaiveDate)> {
        (0u32..1_000_000, 0i32..73_000, 0u32..1000).prop_map(|(region, days, seq)| {
            let birth = d(1900, 1, 1) + chrono::Duration::days(i64::from(days));
            let digits = format!("{region:06}{}{seq:03}", birth.format("%Y%m%d"));
            (digits, birth)
        })
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    proptest! {
        /// Every number made by the standard's rule is accepted, as it is, with the birth date
        /// and sex it encodes; typed with a lower-case x and surrounded by spaces it is the
        /// same number.
        #[test]
        fn a_number_made_by_the_rule_is_accepted((digits, birth) in first17()) {
            let number = format!("{digits}{}", gb11643_check(digits.as_bytes()));
            let id = IdNumber::parse(&number).unwrap();
            prop_assert_eq!(id.as_str(), number.as_str());
            prop_assert_eq!(id.birth_date(), birth);
            let odd = (digits.as_bytes()[16] - b'0') % 2 == 1;
            prop_assert_eq!(id.gender(), if odd { Gender::Male } else { Gender::Female });
            let typed = format!(" \t{}  ", number.to_lowercase());
            prop_assert_eq!(IdNumber::parse(&typed), Ok(id));
        }

        /// The check character catches every mistyped single character: a different digit in
        /// any of the 18 places, or a different check character, is refused.
        #[test]
        fn one_wrong_character_is_refused(
            (digits, _) in first17(),
            place in 0usize..18,
            other in 0u8..11,
        ) {
            let number = format!("{digits}{}", gb11643_check(digits.as_bytes()));
            let mut bytes = number.clone().into_bytes();
            let replacement = if place == 17 { b"0123456789X"[other as usize] } else { b'0' + other % 10 };
            prop_assume!(bytes[place] != replacement);
            bytes[place] = replacement;
            let typo = String::from_utf8(bytes).unwrap();
            let refused = IdNumber::parse(&typo);
            prop_assert!(
                matches!(
                    refused,
                    Err(IdNumberError::CheckDigitMismatch | IdNumberError::InvalidBirthDate)
                ),
                "{} accepted as {:?}", typo, refused
            );
        }

        /// Logs see only the masked form: never the twelve middle characters.
        #[test]
        fn the_printed_forms_hide_the_middle((digits, _) in first17()) {
            let id = IdNumber::parse(&format!("{digits}{}", gb11643_check(digits.as_bytes()))).unwrap();
            for shown in [id.masked(), id.to_string(), format!("{id:?}")] {
                prop_assert!(shown.contains(&id.as_str()[..4]));
                prop_assert!(!shown.contains(&id.as_str()[4..16]), "{}", shown);
            }
        }

        /// A first-generation number converts to the second-generation one of the same person:
        /// the region, `19` and the rest, with the right check character, and it is accepted.
        #[test]
        fn a_legacy_number_converts_to_a_valid_one((digits, birth) in first17()) {
            prop_assume!(birth.year() < 2000);
            let legacy = format!("{}{}", &digits[..6], &digits[8..]);
            let id = IdNumber::from_legacy(&legacy).unwrap();
            let expected = format!("{digits}{}", gb11643_check(digits.as_bytes()));
            prop_assert_eq!(id.as_str(), expected.as_str());
            prop_assert_eq!(IdNumber::parse(id.as_str()), Ok(id.clone()));
            prop_assert_eq!(IdNumber::parse(&legacy), Err(IdNumberError::LegacyFifteenDigits));
        }
    }
}
