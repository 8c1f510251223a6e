//! Members shaped like the rows of a real 花名册: every field a roster import takes
//! (`domain::roster::HEADERS`), a valid 18-character 公民身份号码 unique among the members a run
//! makes, dates that agree with it (born 1950–1999, joined at 18 or later, a full member a year
//! after joining), about 500 bytes of JSON each; one member in eight is away (流动党员) with its
//! outflow fields, one in fifty was lost when the campaign began, with what that rests on.
//!
//! Used by the benchmark (`paicha-bench`) and by the tests that measure cost as a tenant grows.

use serde_json::{Value, json};

/// The days members are born on: 1950-01-01 to 1999-12-31.
const BIRTH_DAYS: u32 = 18_262;

/// Area codes (the number's first six digits) of real counties, taken in turn.
const AREAS: [(&str, &str); 6] = [
    ("130602", "河北省保定市竞秀区"),
    ("130681", "河北省涿州市"),
    ("370102", "山东省济南市历下区"),
    ("410105", "河南省郑州市金水区"),
    ("320106", "江苏省南京市鼓楼区"),
    ("510107", "四川省成都市武侯区"),
];

const ETHNICITIES: [&str; 4] = ["汉族", "汉族", "回族", "满族"];
const EDUCATION: [&str; 5] = ["高中", "大学本科", "大专", "中专", "研究生"];
const WORK_UNITS: [&str; 4] = [
    "城关镇农机服务站",
    "保定市第三中学",
    "竞秀区人民医院",
    "东风街道社区服务中心",
];
const DESTINATIONS: [(&str, &str); 3] = [
    ("广东省深圳市宝安区福永街道", "外出务工"),
    ("北京市朝阳区望京街道", "外出经商"),
    ("浙江省杭州市余杭区", "随子女居住"),
];

/// Common surnames, the most common first.
const SURNAMES: [&str; 100] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴",
    "莫", "孔", "向", "汤",
];

/// Characters common in given names.
const GIVEN: [&str; 120] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "文", "红", "玉", "兰", "志", "海",
    "波", "宁", "东", "林", "春", "燕", "凤", "梅", "晓", "利", "辉", "鹏", "飞", "俊", "峰", "浩",
    "宇", "斌", "婷", "雪", "琳", "慧", "萍", "云", "成", "新", "民", "忠", "德", "福", "金", "荣",
    "立", "学", "玲", "萱", "亮", "光", "永", "庆", "丹", "淑", "欣", "佳", "瑞", "振", "清", "阳",
    "思", "雨", "子", "晨", "博", "凯", "卫", "生", "祥", "龙", "长", "昌", "彬", "健", "帅", "松",
    "梓", "涵", "嘉", "怡", "秋", "月", "冬", "喜", "爱", "兵", "胜", "江", "山", "元", "正", "义",
    "和", "仁", "家", "宏", "泽", "坤", "彩", "莉",
];

/// A well-mixed 64-bit number of `n` (splitmix64's finaliser).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The name of the `n`th member: a surname (the common ones more often, as in life) and a given
/// name of one character (one in four) or two. Names repeat, as they do in a district.
pub fn name_of(n: usize) -> String {
    let h = mix(n as u64);
    // The product of two uniform numbers leans towards the first surnames.
    let surname = ((h % 100) * ((h >> 8) % 100) / 100) as usize;
    let first = GIVEN[((h >> 16) % 120) as usize];
    let mut name = format!("{}{first}", SURNAMES[surname]);
    if !(h >> 24).is_multiple_of(4) {
        name.push_str(GIVEN[((h >> 32) % 120) as usize]);
    }
    name
}

/// `days` after 1950-01-01 as `(year, month, day)`.
fn date_from(days: u32) -> (i32, u32, u32) {
    let mut d = days;
    let mut year = 1950;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        year += 1;
    }
    let months = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 1;
    for len in months {
        if d < len {
            break;
        }
        d -= len;
        month += 1;
    }
    (year, month, d + 1)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// A 公民身份号码 of a person born on `birth` (`YYYYMMDD`) in `area` with sequence number `seq`
/// (odd: male), its check character computed (GB 11643).
pub fn id_number_of(area: &str, birth: &str, seq: u32) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{area}{birth}{:03}", seq % 1000);
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// The `n`th member of a roster (`n` below 9,131,000: numbers are unique below that). Each `n`
/// has its own birth day and sequence number, so no two share a 公民身份号码.
pub fn member(n: usize) -> Value {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    let male = n.is_multiple_of(2);
    let day = n32 % BIRTH_DAYS;
    // An odd sequence number for a man, an even one for a woman, distinct per round of days.
    let seq = (n32 / BIRTH_DAYS) * 2 + u32::from(male);
    let (by, bm, bd) = date_from(day);
    let birth = format!("{by:04}{bm:02}{bd:02}");
    let (area, place) = AREAS[n % AREAS.len()];
    let number = id_number_of(area, &birth, seq);
    // Joined between 18 and 18 + 17 years of age, but never after 2025; full a year later,
    // except the youngest joiners of 2025, who are still probationary.
    let join_year = (by + 18 + (n32 % 18) as i32).min(2025);
    let join = format!("{join_year}-{:02}-{:02}", 1 + n32 % 12, 1 + n32 % 28);
    let probationary = join_year == 2025;
    let mobile = n % 8 == 3;
    let lost = n % 50 == 7;
    let work_unit = WORK_UNITS[n % WORK_UNITS.len()];
    let fields = json!({
        "name": name_of(n),
        "gender": if male { "male" } else { "female" },
        "id_number": number,
        "birth_date": format!("{by:04}-{bm:02}-{bd:02}"),
        "ethnicity": ETHNICITIES[n % ETHNICITIES.len()],
        "native_place": place,
        "education": EDUCATION[n % EDUCATION.len()],
        "member_type": if probationary { "probationary" } else { "full" },
        "join_date": join,
        "work_unit": work_unit,
        "residence": format!("竞秀区东风街道幸福村{}组{}号", n % 12 + 1, n % 97 + 1),
        "household_registration": format!("{place}东风街道幸福村"),
        "phone": format!("139{:08}", n32 % 100_000_000),
        "last_activity_on": format!("2025-{:02}-{:02}", 1 + n32 % 11, 1 + n32 % 28),
        "last_dues_paid_on": format!("2025-{:02}-01", 1 + n32 % 11),
        "whereabouts_known": !lost,
        "lost_at_start": lost,
    });
    let Value::Object(mut f) = fields else {
        unreachable!("a JSON object literal")
    };
    if !probationary {
        f.insert(
            "full_member_date".into(),
            Value::String(format!(
                "{}-{:02}-{:02}",
                join_year + 1,
                1 + n32 % 12,
                1 + n32 % 28
            )),
        );
    }
    if mobile {
        let (destination, reason) = DESTINATIONS[n % DESTINATIONS.len()];
        f.insert(
            "flow_out_on".into(),
            Value::String(format!("20{:02}-{:02}-15", 10 + n32 % 15, 1 + n32 % 12)),
        );
        f.insert("flow_out_reason".into(), Value::String(reason.into()));
        f.insert("flow_destination".into(), Value::String(destination.into()));
    }
    if lost {
        f.insert(
            "lost_at_start_reason".into(),
            Value::String("2019年起未参加组织生活、未交纳党费，电话停机，家人不知去向".into()),
        );
        f.insert(
            "last_activity_on".into(),
            Value::String("2019-06-30".into()),
        );
        f.insert(
            "last_dues_paid_on".into(),
            Value::String("2019-06-01".into()),
        );
    }
    f.insert(
        "remarks".into(),
        Value::String(if mobile {
            "流动党员，已与流入地党组织取得联系".into()
        } else {
            "无".into()
        }),
    );
    Value::Object(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paicha_domain::collection::{Collection, Mode, check_record, validate_fields};
    use paicha_domain::role::Role;

    /// Every member passes the checks a roster import makes, numbers never repeat, and a row is
    /// about 500 bytes.
    #[test]
    fn members_are_valid_unique_and_about_500_bytes() {
        let schema = Collection::Members.schema();
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0;
        let sample: Vec<usize> = (0..20_000).chain([BIRTH_DAYS as usize * 499 + 5]).collect();
        for &n in &sample {
            let m = member(n);
            let fields = m.as_object().unwrap();
            for (_, field) in paicha_domain::roster::HEADERS {
                if !matches!(
                    *field,
                    "flow_out_on"
                        | "flow_out_reason"
                        | "flow_destination"
                        | "lost_at_start_reason"
                        | "full_member_date"
                ) {
                    assert!(fields.contains_key(*field), "{n}: {field} missing");
                }
            }
            let checked = validate_fields(schema, fields, Mode::Create, Role::BranchSecretary)
                .unwrap_or_else(|e| panic!("{n}: {m}: {e:?}"));
            check_record(Collection::Members, &checked).unwrap_or_else(|e| panic!("{n}: {e:?}"));
            assert!(
                seen.insert(fields["id_number"].as_str().unwrap().to_owned()),
                "{n}"
            );
            bytes += m.to_string().len();
        }
        let mean = bytes / sample.len();
        eprintln!("{mean} bytes a member on average");
        assert!((420..=620).contains(&mean), "{mean} bytes a member");
    }
}
