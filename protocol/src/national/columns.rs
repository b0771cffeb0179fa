//! The national 双公示 columns (PLATFORM.md) as one table per kind: code, Chinese name, where the
//! value goes in a record draft, how a cell is read, whether it is required. The importer
//! (`credfed-admin records import`) reads files through these tables; the node's export
//! (`GET /v1/records/export`) writes them back with [`cell`], so the two never disagree.

use crate::national::format_wan_yuan;
use crate::objects::{RecordContent, Subject};
use crate::{Day, RecordKind};

/// How a cell is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellType {
    /// Free text, trimmed.
    Text,
    /// A date → `YYYY-MM-DD`.
    Date,
    /// A date where `2099-12-31` means no end (omitted).
    Until,
    /// A decimal amount in 万元, passed as a string.
    Amount,
    /// A USCC (check character verified).
    Uscc,
    /// A resident ID (check character verified).
    ResidentId,
    /// `CF_XDR_LB`: 法人及非法人组织 / 个体工商户 / 自然人.
    Category,
    /// `CF_CFLB`: a list split on `;` / `；`.
    List,
    /// `XK_XKLB`: a name or its code 01–06.
    LicenceCategory,
}

/// One national column.
#[derive(Debug)]
pub struct Column {
    /// The code (`CF_WSH`).
    pub code: &'static str,
    /// The Chinese name (`行政处罚决定书文号`).
    pub zh: &'static str,
    /// Where the value goes in a record draft (`None`: known, not sent).
    pub path: Option<&'static str>,
    /// How a cell is read.
    pub ty: CellType,
    /// Required in every row.
    pub required: bool,
}

const fn c(code: &'static str, zh: &'static str, path: Option<&'static str>, ty: CellType, required: bool) -> Column {
    Column { code, zh, path, ty, required }
}

use CellType::*;

/// 行政处罚.
pub static PENALTY: &[Column] = &[
    c("CF_WSH", "行政处罚决定书文号", Some("decision_no"), Text, true),
    c("CF_XDR_MC", "行政相对人名称", Some("subject_name"), Text, true),
    c("CF_XDR_LB", "行政相对人类别", Some("national.subject_category"), Category, false),
    c("CF_XDR_SHXYM", "统一社会信用代码", Some("subject.uscc"), Uscc, false),
    c("CF_XDR_GSZC", "工商注册号", None, Text, false),
    c("CF_XDR_ZZJG", "组织机构代码", None, Text, false),
    c("CF_XDR_SWDJ", "税务登记号", None, Text, false),
    c("CF_XDR_SYDW", "事业单位证书号", None, Text, false),
    c("CF_XDR_SHZZ", "社会组织登记证号", None, Text, false),
    c("CF_FRDB", "法定代表人", Some("national.legal_representative.name"), Text, false),
    c("CF_FR_ZJLX", "法定代表人证件类型", Some("national.legal_representative.id_type"), Text, false),
    c("CF_FR_ZJHM", "法定代表人证件号码", Some("national.legal_representative.id_no"), Text, false),
    c("CF_XDR_ZJLX", "相对人证件类型", None, Text, false),
    c("CF_XDR_ZJHM", "相对人证件号码", Some("subject.resident_id"), ResidentId, false),
    c("CF_WFXW", "违法行为类型", Some("national.penalty.violation_type"), Text, false),
    c("CF_SY", "违法事实", Some("facts"), Text, false),
    c("CF_YJ", "处罚依据", Some("legal_basis"), Text, true),
    c("CF_CFLB", "处罚类别", Some("national.penalty.categories"), List, false),
    c("CF_NR", "处罚内容", Some("national.penalty.content"), Text, false),
    c("CF_NR_FK", "罚款金额(万元)", Some("national.penalty.fine_amount"), Amount, false),
    c(
        "CF_NR_WFFF",
        "没收违法所得、没收非法财物的金额(万元)",
        Some("national.penalty.confiscated_amount"),
        Amount,
        false,
    ),
    c("CF_NR_ZKDX", "暂扣或吊销证照名称及编号", Some("national.penalty.suspended_licence"), Text, false),
    c("CF_JDRQ", "处罚决定日期", Some("decided_on"), Date, true),
    c("CF_YXQ", "处罚有效期", Some("national.penalty.valid_until"), Date, false),
    c("CF_GSJZQ", "公示截止期", Some("national.publicity_until"), Date, false),
    c("CF_CFJG", "处罚机关", Some("authority"), Text, true),
    c("CF_CFJGDM", "处罚机关统一社会信用代码", Some("national.authority_uscc"), Uscc, false),
    c("CF_SJLY", "数据来源单位", Some("national.source_unit"), Text, false),
    c("CF_SJLYDM", "数据来源单位统一社会信用代码", Some("national.source_unit_uscc"), Uscc, false),
    c("BZ", "备注", None, Text, false),
];

/// 行政许可.
pub static LICENCE: &[Column] = &[
    c("XK_WSH", "行政许可决定文书号", Some("decision_no"), Text, true),
    c("XK_XDR_MC", "行政相对人名称", Some("subject_name"), Text, true),
    c("XK_XDR_LB", "行政相对人类别", Some("national.subject_category"), Category, false),
    c("XK_XDR_SHXYM", "统一社会信用代码", Some("subject.uscc"), Uscc, false),
    c("XK_XDR_GSZC", "工商注册号", None, Text, false),
    c("XK_XDR_ZZJG", "组织机构代码", None, Text, false),
    c("XK_XDR_SWDJ", "税务登记号", None, Text, false),
    c("XK_XDR_SYDW", "事业单位证书号", None, Text, false),
    c("XK_XDR_SHZZ", "社会组织登记证号", None, Text, false),
    c("XK_FRDB", "法定代表人", Some("national.legal_representative.name"), Text, false),
    c("XK_FR_ZJLX", "法定代表人证件类型", Some("national.legal_representative.id_type"), Text, false),
    c("XK_FR_ZJHM", "法定代表人证件号码", Some("national.legal_representative.id_no"), Text, false),
    c("XK_XDR_ZJLX", "相对人证件类型", None, Text, false),
    c("XK_XDR_ZJHM", "相对人证件号码", Some("subject.resident_id"), ResidentId, false),
    c("XK_XKWS", "行政许可决定文书名称", Some("national.licence.document_name"), Text, false),
    c("XK_XKLB", "许可类别", Some("national.licence.category"), LicenceCategory, false),
    c("XK_XKZS", "许可证书名称", Some("national.licence.certificate_name"), Text, false),
    c("XK_XKBH", "许可编号", Some("national.licence.certificate_no"), Text, false),
    c("XK_NR", "许可内容", Some("national.licence.content"), Text, false),
    c("XK_JDRQ", "许可决定日期", Some("decided_on"), Date, true),
    c("XK_YXQZ", "有效期自", Some("national.licence.valid_from"), Date, false),
    c("XK_YXQZI", "有效期至", Some("valid_until"), Until, false),
    c("XK_XKJG", "许可机关", Some("authority"), Text, true),
    c("XK_XKJGDM", "许可机关统一社会信用代码", Some("national.authority_uscc"), Uscc, true),
    c("XK_ZT", "当前状态", Some("national.licence.source_status"), Text, false),
    c("XK_LYDW", "数据来源单位", Some("national.source_unit"), Text, false),
    c("XK_LYDWDM", "数据来源单位统一社会信用代码", Some("national.source_unit_uscc"), Uscc, false),
    c("BZ", "备注", None, Text, false),
];

/// The column table of a record kind (penalties and licences only).
pub fn for_kind(kind: RecordKind) -> Option<&'static [Column]> {
    match kind {
        RecordKind::AdministrativePenalty => Some(PENALTY),
        RecordKind::AdministrativeLicense => Some(LICENCE),
        _ => None,
    }
}

/// The cell of `col` for a stored record, in the form the importer reads back: dates
/// `YYYY-MM-DD`, amounts in 万元 (exact), categories joined by `;`, 许可类别 and 当前状态 by
/// their national names, `2099-12-31` for a licence without end. Empty where the record holds
/// nothing for the column — always for the personal columns (法定代表人 name and ID number,
/// a natural person's ID number: they never travel, only their digests) and for columns the
/// protocol does not carry (组织机构代码 and the other legacy identifiers, 备注).
pub fn cell(r: &RecordContent, col: &Column) -> String {
    let n = r.national.as_ref();
    let p = n.and_then(|n| n.penalty.as_ref());
    let l = n.and_then(|n| n.licence.as_ref());
    let day = |d: Option<Day>| d.map(|d| d.to_string()).unwrap_or_default();
    let text = |s: Option<&String>| s.cloned().unwrap_or_default();
    let code = col.code.split_once('_').map_or(col.code, |(_, rest)| rest);
    match code {
        "WSH" => r.decision_no.clone(),
        "XDR_MC" => text(r.subject_name.as_ref()),
        "XDR_LB" => n.map(|n| n.subject_category.chinese().to_owned()).unwrap_or_default(),
        "XDR_SHXYM" => match &r.subject {
            Subject::Uscc(u) => u.as_str().to_owned(),
            _ => String::new(),
        },
        "XDR_GSZC" => match &r.subject {
            Subject::RegistrationNo(g) => g.as_str().to_owned(),
            _ => String::new(),
        },
        "FR_ZJLX" => text(n.and_then(|n| n.legal_representative.as_ref()).and_then(|x| x.id_type.as_ref())),
        "WFXW" => text(p.and_then(|p| p.violation_type.as_ref())),
        "SY" => text(r.facts.as_ref()),
        "YJ" => r.legal_basis.clone(),
        "CFLB" => p.map(|p| p.categories.join(";")).unwrap_or_default(),
        "NR" => text(p.and_then(|p| p.content.as_ref()).or(l.and_then(|l| l.content.as_ref()))),
        "NR_FK" => p.and_then(|p| p.fine_fen).map(format_wan_yuan).unwrap_or_default(),
        "NR_WFFF" => p.and_then(|p| p.confiscated_fen).map(format_wan_yuan).unwrap_or_default(),
        "NR_ZKDX" => text(p.and_then(|p| p.suspended_licence.as_ref())),
        "JDRQ" => r.decided_on.to_string(),
        "YXQ" => day(p.and_then(|p| p.valid_until)),
        "GSJZQ" => day(n.and_then(|n| n.publicity_until)),
        "CFJG" | "XKJG" => r.authority.clone(),
        "CFJGDM" | "XKJGDM" => {
            n.and_then(|n| n.authority_uscc.as_ref()).map(|u| u.as_str().to_owned()).unwrap_or_default()
        }
        "SJLY" | "LYDW" => text(n.and_then(|n| n.source_unit.as_ref())),
        "SJLYDM" | "LYDWDM" => {
            n.and_then(|n| n.source_unit_uscc.as_ref()).map(|u| u.as_str().to_owned()).unwrap_or_default()
        }
        "XKWS" => text(l.and_then(|l| l.document_name.as_ref())),
        "XKLB" => l.map(|l| l.category.chinese().to_owned()).unwrap_or_default(),
        "XKZS" => text(l.and_then(|l| l.certificate_name.as_ref())),
        "XKBH" => text(l.and_then(|l| l.certificate_no.as_ref())),
        "YXQZ" => day(l.and_then(|l| l.valid_from)),
        "YXQZI" => match r.valid_until {
            Some(d) => d.to_string(),
            None => NO_END.to_owned(),
        },
        "ZT" => l.and_then(|l| l.source_status).map(|s| s.chinese().to_owned()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The national "no end" date of a licence (有效期至).
pub const NO_END: &str = "2099-12-31";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_prefixed_per_table() {
        for (t, prefix) in [(PENALTY, "CF_"), (LICENCE, "XK_")] {
            let mut seen = std::collections::HashSet::new();
            for col in t {
                assert!(col.code.starts_with(prefix) || col.code == "BZ", "{}", col.code);
                assert!(seen.insert(col.code), "{} twice", col.code);
            }
        }
    }

    #[test]
    fn no_end_is_what_the_licence_rule_reads_as_no_end() {
        assert_eq!(crate::national::licence_valid_until(NO_END.parse().unwrap()), None);
    }
}
