//! Administrative division codes (行政区划代码, GB/T 2260) and the project's cities (DOMAIN §1.2).
//!
//! A [`DivisionCode`] is any six digits: codes in USCCs may be development-zone codes (R1.6)
//! or codes that have since been renamed or merged away (R1.11). They are **classified**
//! ([`jurisdiction`]), never rejected for being unknown.
//!
//! The [`KNOWN_REGIONS`] table is the snapshot of DOMAIN §1.2 (NBS 统计用区划代码 via
//! `modood/Administrative-divisions-of-China`, 2024-11). It is reference data for display and
//! classification; a versioned table loaded by the node can supersede it (R1.11).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A six-digit administrative division code such as `411500`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

/// A string that is not six ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid division code {input:?}: expected 6 digits")]
pub struct DivisionCodeError {
    /// The rejected input (truncated to 20 characters).
    pub input: String,
}

impl DivisionCodeError {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        "invalid_division_code"
    }
}

impl DivisionCode {
    /// Wraps text already known to be six ASCII digits (positions 3-8 of a parsed USCC).
    pub(crate) fn from_verified_digits(digits: &str) -> DivisionCode {
        debug_assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
        DivisionCode(digits.to_owned())
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit province prefix, e.g. `41` for Henan (R1.11).
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    /// The prefecture-level code: first 4 digits + `00` (R1.6).
    pub fn prefecture(&self) -> DivisionCode {
        DivisionCode(format!("{}00", &self.0[..4]))
    }

    /// Whether this is itself a prefecture-level code (ends in `00`).
    pub fn is_prefecture(&self) -> bool {
        self.0.ends_with("00")
    }

    /// Chinese name of the province for the project's four provinces (R1.11), else `None`.
    pub fn province_name_zh(&self) -> Option<&'static str> {
        match self.province() {
            "32" => Some("江苏省"),
            "34" => Some("安徽省"),
            "41" => Some("河南省"),
            "42" => Some("湖北省"),
            _ => None,
        }
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionCodeError;

    /// Parses exactly six ASCII digits (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// [`DivisionCodeError`] for anything else.
    fn from_str(s: &str) -> Result<DivisionCode, DivisionCodeError> {
        let t = s.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(DivisionCode(t.to_owned()))
        } else {
            Err(DivisionCodeError { input: s.chars().take(20).collect() })
        }
    }
}

text_newtype!(DivisionCode);

/// A city of the project (DOMAIN §1.2) with its prefecture code and county-level codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRegion {
    /// Region id (a valid [`crate::RegionId`]).
    pub id: &'static str,
    /// Chinese name, e.g. `信阳市`.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Province, e.g. `河南省`.
    pub province_zh: &'static str,
    /// Prefecture-level division code.
    pub division: &'static str,
    /// County-level codes with names, including NBS development zones (`xx7x`) and
    /// registration-authority zone codes seen in USCCs (R1.6).
    pub counties: &'static [(&'static str, &'static str)],
}

impl KnownRegion {
    /// The prefecture code as a [`DivisionCode`].
    pub fn division_code(&self) -> DivisionCode {
        DivisionCode::from_verified_digits(self.division)
    }

    /// Name of a listed county-level code, or of the prefecture itself.
    pub fn name_of(&self, code: &DivisionCode) -> Option<&'static str> {
        if code.as_str() == self.division {
            return Some(self.name_zh);
        }
        self.counties.iter().find(|(c, _)| *c == code.as_str()).map(|(_, n)| *n)
    }

    /// Whether `code` is the prefecture, in it, or a listed county/zone code (R1.6).
    pub fn covers(&self, code: &DivisionCode) -> bool {
        code.prefecture().as_str() == self.division || self.counties.iter().any(|(c, _)| *c == code.as_str())
    }
}

/// DOMAIN §1.2: the project's cities.
pub const KNOWN_REGIONS: &[KnownRegion] = &[
    KnownRegion {
        id: "xinyang",
        name_zh: "信阳市",
        name_en: "Xinyang",
        province_zh: "河南省",
        division: "411500",
        counties: &[
            ("411502", "浉河区"),
            ("411503", "平桥区"),
            ("411521", "罗山县"),
            ("411522", "光山县"),
            ("411523", "新县"),
            ("411524", "商城县"),
            ("411525", "固始县"),
            ("411526", "潢川县"),
            ("411527", "淮滨县"),
            ("411528", "息县"),
            ("411571", "信阳高新技术产业开发区"),
        ],
    },
    KnownRegion {
        id: "zhumadian",
        name_zh: "驻马店市",
        name_en: "Zhumadian",
        province_zh: "河南省",
        division: "411700",
        counties: &[
            ("411702", "驿城区"),
            ("411721", "西平县"),
            ("411722", "上蔡县"),
            ("411723", "平舆县"),
            ("411724", "正阳县"),
            ("411725", "确山县"),
            ("411726", "泌阳县"),
            ("411727", "汝南县"),
            ("411728", "遂平县"),
            ("411729", "新蔡县"),
            ("411771", "河南驻马店经济开发区"),
        ],
    },
    KnownRegion {
        id: "suzhou",
        name_zh: "苏州市",
        name_en: "Suzhou",
        province_zh: "江苏省",
        division: "320500",
        counties: &[
            ("320505", "虎丘区"),
            ("320506", "吴中区"),
            ("320507", "相城区"),
            ("320508", "姑苏区"),
            ("320509", "吴江区"),
            // NBS code of the park (DOMAIN.md §1.2 says 320576; the cited dataset has 320571).
            ("320571", "苏州工业园区"),
            ("320581", "常熟市"),
            ("320582", "张家港市"),
            ("320583", "昆山市"),
            ("320585", "太仓市"),
            // DOMAIN R1.6: registration-authority code used in USCCs of park companies.
            ("320594", "苏州工业园区（登记机关代码）"),
        ],
    },
    KnownRegion {
        id: "luan",
        name_zh: "六安市",
        name_en: "Lu'an",
        province_zh: "安徽省",
        division: "341500",
        counties: &[
            ("341502", "金安区"),
            ("341503", "裕安区"),
            ("341504", "叶集区"),
            ("341522", "霍邱县"),
            ("341523", "舒城县"),
            ("341524", "金寨县"),
            ("341525", "霍山县"),
        ],
    },
    KnownRegion {
        id: "anqing",
        name_zh: "安庆市",
        name_en: "Anqing",
        province_zh: "安徽省",
        division: "340800",
        counties: &[
            ("340802", "迎江区"),
            ("340803", "大观区"),
            ("340811", "宜秀区"),
            ("340822", "怀宁县"),
            ("340825", "太湖县"),
            ("340826", "宿松县"),
            ("340827", "望江县"),
            ("340828", "岳西县"),
            ("340871", "安徽安庆经济开发区"),
            ("340881", "桐城市"),
            ("340882", "潜山市"),
        ],
    },
    KnownRegion {
        id: "huanggang",
        name_zh: "黄冈市",
        name_en: "Huanggang",
        province_zh: "湖北省",
        division: "421100",
        counties: &[
            ("421102", "黄州区"),
            ("421121", "团风县"),
            ("421122", "红安县"),
            ("421123", "罗田县"),
            ("421124", "英山县"),
            ("421125", "浠水县"),
            ("421126", "蕲春县"),
            ("421127", "黄梅县"),
            ("421171", "龙感湖管理区"),
            ("421181", "麻城市"),
            ("421182", "武穴市"),
        ],
    },
    KnownRegion {
        id: "xiaogan",
        name_zh: "孝感市",
        name_en: "Xiaogan",
        province_zh: "湖北省",
        division: "420900",
        counties: &[
            ("420902", "孝南区"),
            ("420921", "孝昌县"),
            ("420922", "大悟县"),
            ("420923", "云梦县"),
            ("420981", "应城市"),
            ("420982", "安陆市"),
            ("420984", "汉川市"),
        ],
    },
    KnownRegion {
        id: "suizhou",
        name_zh: "随州市",
        name_en: "Suizhou",
        province_zh: "湖北省",
        division: "421300",
        counties: &[("421303", "曾都区"), ("421321", "随县"), ("421381", "广水市")],
    },
];

/// The known region with this id (e.g. `xinyang`).
pub fn known_region(id: &str) -> Option<&'static KnownRegion> {
    KNOWN_REGIONS.iter().find(|r| r.id == id)
}

/// The known region covering `code` (its prefecture, or a listed county/zone code).
pub fn known_region_for(code: &DivisionCode) -> Option<&'static KnownRegion> {
    KNOWN_REGIONS.iter().find(|r| r.covers(code))
}

/// How a subject's division relates to a region's (R1.6, R1.11): a classification only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// Same prefecture, or a county/zone code listed for the region.
    Same,
    /// Same province, different prefecture.
    SameProvince,
    /// Anything else, including codes no table knows.
    Other,
}

/// Classifies `subject_division` relative to the region whose prefecture is `region_division`.
///
/// Never fails: old, renamed and unknown codes are classified, not rejected (R1.6, R1.11).
/// `region_division` may be a county-level code; its prefecture is used.
pub fn jurisdiction(region_division: &DivisionCode, subject_division: &DivisionCode) -> Jurisdiction {
    let region_pref = region_division.prefecture();
    if subject_division.prefecture() == region_pref {
        return Jurisdiction::Same;
    }
    // DOMAIN R1.6: zone codes listed for the region count as the region even with another prefix.
    let listed = KNOWN_REGIONS
        .iter()
        .filter(|r| r.division == region_pref.as_str())
        .any(|r| r.counties.iter().any(|(c, _)| *c == subject_division.as_str()));
    if listed {
        Jurisdiction::Same
    } else if subject_division.province() == region_division.province() {
        Jurisdiction::SameProvince
    } else {
        Jurisdiction::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionId;

    fn dc(s: &str) -> DivisionCode {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(dc(" 411502 ").as_str(), "411502");
        for bad in ["", "41150", "4115021", "41150a", "４11502", "-11502"] {
            let e = bad.parse::<DivisionCode>().unwrap_err();
            assert_eq!(e.code(), "invalid_division_code");
        }
        // DOMAIN R1.6: any six digits are accepted, even 000000.
        assert!("000000".parse::<DivisionCode>().is_ok());
        assert_eq!(dc("320594").to_string(), "320594");
        assert_eq!(serde_json::to_string(&dc("320594")).unwrap(), "\"320594\"");
        assert!(serde_json::from_str::<DivisionCode>("\"32059\"").is_err());
    }

    #[test]
    fn prefecture_and_province() {
        // DOMAIN R1.6: prefecture = first 4 digits + "00"; R1.11 province prefixes.
        let c = dc("411528");
        assert_eq!(c.prefecture(), dc("411500"));
        assert_eq!(c.province(), "41");
        assert_eq!(c.province_name_zh(), Some("河南省"));
        assert!(!c.is_prefecture());
        assert!(c.prefecture().is_prefecture());
        assert_eq!(dc("320594").province_name_zh(), Some("江苏省"));
        assert_eq!(dc("340800").province_name_zh(), Some("安徽省"));
        assert_eq!(dc("421300").province_name_zh(), Some("湖北省"));
        assert_eq!(dc("440300").province_name_zh(), None);
    }

    #[test]
    fn table_is_consistent() {
        // DOMAIN §1.2: 8 cities; every county code is in its prefecture and province.
        assert_eq!(KNOWN_REGIONS.len(), 8);
        let mut total = 0;
        for r in KNOWN_REGIONS {
            assert!(r.id.parse::<RegionId>().is_ok(), "{}", r.id);
            let d = r.division_code();
            assert!(d.is_prefecture());
            assert_eq!(d.province_name_zh(), Some(r.province_zh));
            assert_eq!(known_region(r.id), Some(r));
            for (code, _) in r.counties {
                let c = dc(code);
                assert_eq!(c.prefecture(), d, "{code}");
                assert_eq!(known_region_for(&c), Some(r));
                assert_eq!(jurisdiction(&d, &c), Jurisdiction::Same);
                total += 1;
            }
        }
        // 11 + 11 + 11 + 7 + 11 + 11 + 7 + 3
        assert_eq!(total, 72);
        assert_eq!(known_region("beijing"), None);
    }

    #[test]
    fn county_lists_match_domain_table() {
        // DOMAIN §1.2 row for 随州市 and 六安市, spot checks of names.
        let s = known_region("suizhou").unwrap();
        assert_eq!(s.counties, &[("421303", "曾都区"), ("421321", "随县"), ("421381", "广水市")]);
        let l = known_region("luan").unwrap();
        assert_eq!(l.name_of(&dc("341504")), Some("叶集区"));
        assert_eq!(l.name_of(&dc("341500")), Some("六安市"));
        assert_eq!(l.name_of(&dc("341599")), None);
    }

    #[test]
    fn jurisdiction_classifies_never_rejects() {
        let xinyang = dc("411500");
        // DOMAIN R1.6, R1.11
        assert_eq!(jurisdiction(&xinyang, &dc("411525")), Jurisdiction::Same);
        assert_eq!(jurisdiction(&xinyang, &dc("411599")), Jurisdiction::Same, "unknown county of the prefecture");
        assert_eq!(jurisdiction(&xinyang, &dc("411702")), Jurisdiction::SameProvince);
        assert_eq!(jurisdiction(&xinyang, &dc("420902")), Jurisdiction::Other);
        assert_eq!(jurisdiction(&xinyang, &dc("000000")), Jurisdiction::Other);
        let suzhou = dc("320500");
        assert_eq!(jurisdiction(&suzhou, &dc("320594")), Jurisdiction::Same);
        assert_eq!(jurisdiction(&suzhou, &dc("320571")), Jurisdiction::Same);
        assert_eq!(jurisdiction(&dc("320505"), &dc("320594")), Jurisdiction::Same, "county-level region code");
        assert_eq!(jurisdiction(&suzhou, &dc("320100")), Jurisdiction::SameProvince);
        assert_eq!(serde_json::to_string(&Jurisdiction::SameProvince).unwrap(), "\"same_province\"");
    }

    #[test]
    fn uscc_division_classifies() {
        // DOMAIN R1.6: 91320594780268314T is registered under the Suzhou park's own code.
        let u: crate::uscc::Uscc = "91320594780268314T".parse().unwrap();
        let suzhou = known_region("suzhou").unwrap();
        assert_eq!(jurisdiction(&suzhou.division_code(), &u.division()), Jurisdiction::Same);
        assert_eq!(suzhou.name_of(&u.division()), Some("苏州工业园区（登记机关代码）"));
    }
}
