//! Generated national-format (双公示 CF_*) penalty exports for the import test and bench:
//! Chinese headers plus platform extras, several date forms, natural persons, and known bad
//! rows (one every `bad_every` rows, cycling through the kinds of bad row).
#![allow(dead_code)]

use credfed_protocol::bundle::sample;

/// One expected rejection: data row, column code, error code.
pub type Bad = (usize, &'static str, &'static str);

/// The header row (Chinese names, as Chinese Excel exports have them, plus platform columns).
pub const HEADERS: [&str; 15] = [
    "ID",
    "行政处罚决定书文号",
    "行政相对人名称",
    "行政相对人类别",
    "统一社会信用代码",
    "相对人证件号码",
    "处罚依据",
    "违法事实",
    "处罚类别",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "RESOURCE_ID",
    "CHECK_FLAG",
];

fn resident_id(n: usize) -> String {
    let first17 = format!("411502199001{:05}", n % 100_000);
    let c = credfed_protocol::person::resident_id_check_char(&first17).expect("17 digits");
    format!("{first17}{c}")
}

/// `n` rows as CSV text (CRLF, like Excel) and the rows that must be rejected.
pub fn penalty_csv(n: usize, bad_every: usize, seed: u64) -> (String, Vec<Bad>) {
    let authority = sample::uscc("411500", 9_999_999).to_string().replacen("91", "11", 1);
    let authority = {
        let first17 = &authority[..17];
        format!("{first17}{}", credfed_protocol::uscc::expected_check_char(first17).expect("valid"))
    };
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    w.write_record(HEADERS).unwrap();
    let mut bad = Vec::new();
    let mut prev: Vec<String> = Vec::new();
    for row in 1..=n {
        let k = seed * 1_000_000 + row as u64;
        let person = row % 9 == 0;
        let day = 1 + row % 28;
        let date = match row % 4 {
            0 => format!("2025-03-{day:02}"),
            1 => format!("2025/3/{day}"),
            2 => format!("202503{day:02}"),
            _ => format!("2025年3月{day}日 09:30:00"),
        };
        let mut r: Vec<String> = vec![
            k.to_string(),
            format!("信市监罚〔2025〕{k}号"),
            if person { "张某".into() } else { format!("信阳某商贸有限公司{k}") },
            if person { "自然人".into() } else { "法人及非法人组织".into() },
            if person { String::new() } else { sample::uscc("411500", k).to_string() },
            if person { resident_id(k as usize) } else { String::new() },
            "《中华人民共和国食品安全法》第一百二十四条".into(),
            "销售不符合食品安全标准的食品，货值\"较小\"，\n已责令改正".into(),
            "罚款；警告".into(),
            format!("0.{}", 1 + row % 9),
            date,
            "信阳市市场监督管理局".into(),
            authority.clone(),
            format!("R{k}"),
            "1".into(),
        ];
        if bad_every > 0 && row % bad_every == 0 {
            let what = (row / bad_every) % 6;
            let b: Bad = match what {
                0 => {
                    r[3] = "法人及非法人组织".into();
                    r[5] = String::new();
                    let u = sample::uscc("411500", k).to_string();
                    let last = if u.ends_with('0') { '1' } else { '0' };
                    r[4] = format!("{}{last}", &u[..17]);
                    (row, "CF_XDR_SHXYM", "invalid_uscc")
                }
                1 => {
                    r[1] = String::new();
                    (row, "CF_WSH", "missing_field")
                }
                2 => {
                    r[10] = "2025-02-30".into();
                    (row, "CF_JDRQ", "invalid_date")
                }
                3 => {
                    r[9] = "2000元".into();
                    (row, "CF_NR_FK", "bad_amount")
                }
                4 => {
                    r = prev.clone();
                    r[0] = k.to_string();
                    (row, "CF_WSH", "duplicate_in_file")
                }
                _ => {
                    r[3] = "法人及非法人组织".into();
                    r[4] = sample::uscc("411500", k).to_string();
                    r[2] = resident_id(k as usize);
                    r[5] = String::new();
                    (row, "CF_XDR_MC", "personal_id_in_name")
                }
            };
            bad.push(b);
        }
        w.write_record(&r).unwrap();
        prev = r;
    }
    (String::from_utf8(w.into_inner().unwrap()).unwrap(), bad)
}

/// The text as GB18030 bytes (what Chinese Excel writes).
pub fn gb18030(text: &str) -> Vec<u8> {
    let (b, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    b.into_owned()
}
