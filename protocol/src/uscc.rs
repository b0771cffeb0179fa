//! Unified Social Credit Code (统一社会信用代码, USCC), GB 32100-2015 (DOMAIN §1.1).
//!
//! A [`Uscc`] cannot exist invalid: the only ways to get one are [`FromStr`] and
//! deserialization, which both run the full R1.1–R1.3 checks. Anomalies that real registries
//! contain but that do not make a code unusable (R1.4 organisation-code check, R1.5 unknown
//! category) are reported by [`Uscc::warnings`], never by rejection.
//!
//! Layout (R1.2, 1-based positions):
//!
//! | pos | meaning |
//! |---|---|
//! | 1 | registration-authority code (登记管理部门代码) |
//! | 2 | institution-type code (机构类别代码) |
//! | 3-8 | administrative division of the registering authority (GB/T 2260 or a zone code, R1.6) |
//! | 9-17 | organisation code (组织机构代码, GB 11714): 8 body characters + 1 check character |
//! | 18 | check character (R1.3) |
//!
//! Published vectors: `tests/vectors/uscc.json`.

use std::fmt;
use std::str::FromStr;

use crate::division::DivisionCode;

/// Length of a USCC in characters.
pub const USCC_LEN: usize = 18;

/// The 31-character alphabet of R1.1; a character's value is its index (0-30).
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// R1.3 weights for positions 1..=17: `3^(i-1) mod 31`.
pub const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// R1.4 (GB 11714) weights for the 8 organisation-code body characters.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A row of the R1.5 table: authority code, its name, and its institution types with names.
type Category = (char, &'static str, &'static [(char, &'static str)]);

/// DOMAIN R1.5: registration authority → institution types.
const CATEGORIES: &[Category] = &[
    ('1', "机构编制", &[('1', "机关"), ('2', "事业单位"), ('3', "中央编办直接管理机构编制的群众团体"), ('9', "其他")]),
    ('2', "外交", &[('1', "外国常驻新闻机构"), ('9', "其他")]),
    (
        '3',
        "司法行政",
        &[
            ('1', "律师执业机构"),
            ('2', "公证处"),
            ('3', "基层法律服务所"),
            ('4', "司法鉴定机构"),
            ('5', "仲裁委员会"),
            ('9', "其他"),
        ],
    ),
    ('4', "文化", &[('1', "外国在华文化中心"), ('9', "其他")]),
    ('5', "民政", &[('1', "社会团体"), ('2', "民办非企业单位"), ('3', "基金会"), ('9', "其他")]),
    (
        '6',
        "旅游",
        &[('1', "外国旅游部门常驻代表机构"), ('2', "港澳台地区旅游部门常驻内地（大陆）代表机构"), ('9', "其他")],
    ),
    ('7', "宗教", &[('1', "宗教活动场所"), ('2', "宗教院校"), ('9', "其他")]),
    ('8', "工会", &[('1', "基层工会"), ('9', "其他")]),
    ('9', "工商", &[('1', "企业"), ('2', "个体工商户"), ('3', "农民专业合作社")]),
    ('A', "中央军委改革和编制办公室", &[('1', "军队事业单位"), ('9', "其他")]),
    ('N', "农业", &[('1', "组级集体经济组织"), ('2', "村级集体经济组织"), ('3', "乡镇级集体经济组织"), ('9', "其他")]),
    ('Y', "其他", &[('1', "其他")]),
];

/// Value (0-30) of a character in the R1.1 alphabet.
fn value(c: char) -> Option<u32> {
    // The alphabet is ASCII, so the byte index is the character index.
    USCC_ALPHABET.find(c).map(|i| i as u32)
}

/// DOMAIN R1.3: C18 = 31 − (Σ mod 31), where 31 becomes 0, mapped back through the alphabet.
fn check_char_for_sum(sum: u32) -> char {
    let v = (31 - sum % 31) % 31;
    char::from(USCC_ALPHABET.as_bytes()[v as usize])
}

/// Computes the R1.3 check character for the first 17 characters of a USCC.
///
/// `first17` must be exactly 17 characters of the R1.1 alphabet (uppercase, not trimmed);
/// returns `None` otherwise. Positions 3-8 are not required to be digits here.
///
/// ```
/// use credfed_protocol::uscc::expected_check_char;
/// assert_eq!(expected_check_char("91440300192203821"), Some('6'));
/// assert_eq!(expected_check_char("9144030019220382"), None);
/// ```
pub fn expected_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0usize;
    for c in first17.chars() {
        let w = *USCC_WEIGHTS.get(n)?;
        sum += value(c)? * w;
        n += 1;
    }
    (n == 17).then(|| check_char_for_sum(sum))
}

/// DOMAIN R1.4: the GB 11714 check character of an 8-character organisation-code body.
fn org_check_char(body: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0usize;
    for c in body.chars() {
        let w = *ORG_WEIGHTS.get(n)?;
        // Values 0-9 and A=10 … Z=35 (all 26 letters).
        sum += c.to_digit(36)? * w;
        n += 1;
    }
    if n != 8 {
        return None;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        d => char::from_digit(d, 10),
    }
}

/// Why a string is not a USCC. Every variant maps to the API error code `invalid_uscc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not exactly 18 characters after trimming (R1.1).
    #[error("a USCC has 18 characters, got {got}")]
    Length {
        /// Number of characters (not bytes) after trimming.
        got: usize,
    },
    /// A character outside the R1.1 alphabet (after uppercasing).
    #[error(
        "character {ch:?} at position {position} is not allowed: a USCC uses digits and uppercase letters except I, O, S, V, Z"
    )]
    InvalidChar {
        /// 1-based position.
        position: usize,
        /// The offending character (after uppercasing).
        ch: char,
    },
    /// Positions 3-8 (the division code, R1.2) must be digits.
    #[error("character at position {position} must be a digit: positions 3-8 are the administrative division code")]
    DivisionNotDigits {
        /// 1-based position (3-8).
        position: usize,
    },
    /// The R1.3 check character does not match.
    #[error("check character is '{got}', expected '{expected}'")]
    CheckChar {
        /// The check character R1.3 computes from positions 1-17.
        expected: char,
        /// The character found at position 18.
        got: char,
    },
}

impl UsccError {
    /// The API error code: `invalid_uscc` for every variant.
    pub fn code(&self) -> &'static str {
        "invalid_uscc"
    }
}

/// Something unusual about a valid USCC; reported, never a reason to reject (R1.4, R1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsccWarning {
    /// The embedded organisation code (pos 9-17) fails its GB 11714 check (R1.4).
    OrganisationCheck {
        /// Check character computed from positions 9-16.
        expected: char,
        /// Character found at position 17.
        got: char,
    },
    /// Position 1 is not a registration-authority code of R1.5.
    UnknownAuthority {
        /// Position 1.
        authority: char,
    },
    /// Position 2 is not an institution type of the (known) authority at position 1 (R1.5).
    UnknownInstitutionType {
        /// Position 1.
        authority: char,
        /// Position 2.
        institution: char,
    },
}

impl UsccWarning {
    /// A stable machine-readable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            UsccWarning::OrganisationCheck { .. } => "uscc_org_check_mismatch",
            UsccWarning::UnknownAuthority { .. } => "uscc_unknown_authority",
            UsccWarning::UnknownInstitutionType { .. } => "uscc_unknown_institution_type",
        }
    }
}

impl fmt::Display for UsccWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsccWarning::OrganisationCheck { expected, got } => {
                write!(f, "embedded organisation code check character is '{got}', expected '{expected}' (GB 11714)")
            }
            UsccWarning::UnknownAuthority { authority } => {
                write!(f, "registration authority code '{authority}' is not in the GB 32100 code list")
            }
            UsccWarning::UnknownInstitutionType { authority, institution } => {
                write!(f, "institution type '{institution}' is not defined for registration authority '{authority}'")
            }
        }
    }
}

/// A valid Unified Social Credit Code: 18 characters, uppercase, check character verified.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// The code as text (18 ASCII characters, uppercase).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position `i` (0-based); always an ASCII character of the alphabet.
    fn at(&self, i: usize) -> char {
        char::from(self.0.as_bytes()[i])
    }

    /// Position 1: registration-authority code (登记管理部门代码).
    pub fn registration_authority(&self) -> char {
        self.at(0)
    }

    /// Position 2: institution-type code (机构类别代码).
    pub fn institution_type(&self) -> char {
        self.at(1)
    }

    /// Positions 3-8: division code of the registering authority (six digits, R1.2, R1.6).
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Positions 3-8 as a [`DivisionCode`], for [`crate::division::jurisdiction`].
    pub fn division(&self) -> DivisionCode {
        DivisionCode::from_verified_digits(self.division_code())
    }

    /// Positions 9-17: the organisation code (GB 11714), including its own check character.
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }

    /// Position 18: the check character.
    pub fn check_char(&self) -> char {
        self.at(17)
    }

    /// Chinese names of the registration authority and institution type (R1.5), when known.
    pub fn category_names(&self) -> Option<(&'static str, &'static str)> {
        let (_, authority, types) = CATEGORIES.iter().find(|(a, _, _)| *a == self.registration_authority())?;
        let (_, institution) = types.iter().find(|(t, _)| *t == self.institution_type())?;
        Some((authority, institution))
    }

    /// A government body (机关 `11` or 事业单位 `12`) for 政务诚信 records (DOMAIN R9.2).
    pub fn is_government_body(&self) -> bool {
        self.0.starts_with("11") || self.0.starts_with("12")
    }

    /// Anomalies that do not invalidate the code (R1.4, R1.5), in a fixed order: organisation
    /// check first, then category.
    pub fn warnings(&self) -> Vec<UsccWarning> {
        let mut out = Vec::new();
        // DOMAIN R1.4: a failing embedded organisation-code check is a warning only.
        if let Some(expected) = org_check_char(&self.0[8..16]) {
            let got = self.at(16);
            if got != expected {
                out.push(UsccWarning::OrganisationCheck { expected, got });
            }
        }
        // DOMAIN R1.5: an unknown authority / institution-type pair is a warning.
        let authority = self.registration_authority();
        let institution = self.institution_type();
        match CATEGORIES.iter().find(|(a, _, _)| *a == authority) {
            None => out.push(UsccWarning::UnknownAuthority { authority }),
            Some((_, _, types)) if !types.iter().any(|(t, _)| *t == institution) => {
                out.push(UsccWarning::UnknownInstitutionType { authority, institution });
            }
            Some(_) => {}
        }
        out
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    /// Parses a USCC: trims, uppercases ASCII letters, then checks R1.1–R1.3.
    ///
    /// # Errors
    /// [`UsccError::Length`] unless exactly 18 characters remain after trimming;
    /// [`UsccError::InvalidChar`] for the first character outside the alphabet (I, O, S, V and Z
    /// are never mapped to digits); [`UsccError::DivisionNotDigits`] for a non-digit in
    /// positions 3-8; [`UsccError::CheckChar`] when position 18 is not the R1.3 check character.
    fn from_str(s: &str) -> Result<Uscc, UsccError> {
        // DOMAIN R1.1: trim and uppercase; never map O→0 or I→1.
        let trimmed = s.trim();
        let got = trimmed.chars().count();
        if got != USCC_LEN {
            return Err(UsccError::Length { got });
        }
        let mut code = String::with_capacity(USCC_LEN);
        let mut sum = 0u32;
        for (i, c) in trimmed.chars().map(|c| c.to_ascii_uppercase()).enumerate() {
            let position = i + 1;
            let Some(v) = value(c) else {
                return Err(UsccError::InvalidChar { position, ch: c });
            };
            // DOMAIN R1.2: positions 3-8 are a six-digit division code.
            if (3..=8).contains(&position) && !c.is_ascii_digit() {
                return Err(UsccError::DivisionNotDigits { position });
            }
            if let Some(w) = USCC_WEIGHTS.get(i) {
                sum += v * w;
            }
            code.push(c);
        }
        // DOMAIN R1.3. All 18 characters are ASCII now, so byte 17 is position 18.
        let expected = check_char_for_sum(sum);
        let got = char::from(code.as_bytes()[17]);
        if got != expected {
            return Err(UsccError::CheckChar { expected, got });
        }
        Ok(Uscc(code))
    }
}

text_newtype!(Uscc);

#[cfg(test)]
mod tests;
