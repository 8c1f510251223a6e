//! The Chinese labels of enum words, as people read them in forms, lists and exports.
//!
//! Most words mean the same wherever they appear (`found` is 已取得联系 on a member, a case and
//! a result); the few that read differently in one field are overridden for that field. A test
//! checks that every word of every enum field of every collection has a label, so a new word
//! cannot reach a form as bare English.

use super::{Collection, FieldType};

/// Words that read differently in one field: (collection, field, word, label).
static OVERRIDES: &[(Collection, &str, &str, &str)] = &[
    (
        Collection::ArchiveReviews,
        "finding",
        "complete",
        "档案完整",
    ),
    (
        Collection::ArchiveReviews,
        "finding",
        "incomplete",
        "档案不全",
    ),
    (Collection::ArchiveReviews, "finding", "lost", "档案丢失"),
    (
        Collection::ArchiveReviews,
        "reason",
        "incomplete",
        "档案不全",
    ),
    (Collection::ArchiveReviews, "reason", "lost", "档案丢失"),
    (
        Collection::ArchiveReviews,
        "status",
        "confirmed",
        "认定党员身份",
    ),
    (
        Collection::ArchiveReviews,
        "exemption",
        "retired",
        "已离退休",
    ),
    (
        Collection::Dispositions,
        "disposition_type",
        "deceased",
        "因死亡注销",
    ),
    (
        Collection::Dispositions,
        "disposition_type",
        "transferred_out",
        "转出组织关系",
    ),
    (
        Collection::RosterLedgerEntries,
        "outcome",
        "removed_from_roster",
        "移出花名册",
    ),
    (
        Collection::Members,
        "move_status",
        "proposed",
        "待接收支部确认",
    ),
    (Collection::ContactCases, "found_by", "other", "其他方式"),
    (Collection::ContactAttempts, "method", "other", "其他方式"),
    (Collection::ContactAttempts, "channel", "tax", "税务部门"),
    (
        Collection::ContactAttempts,
        "channel",
        "property",
        "房产部门",
    ),
    (
        Collection::DepartmentSearchRequests,
        "departments",
        "tax",
        "税务部门",
    ),
    (
        Collection::DepartmentSearchRequests,
        "departments",
        "property",
        "房产部门",
    ),
];

/// The label of a word in general.
fn word(word: &str) -> Option<&'static str> {
    Some(match word {
        // people
        "male" => "男",
        "female" => "女",
        "full" => "正式党员",
        "probationary" => "预备党员",
        // members.roster_status
        "unverified" => "未核查",
        "confirmed_on_site" => "现场确认",
        "confirmed_remote" => "远程确认",
        "confirmed_assisted" => "上门协助确认",
        "pending_lost" => "失联待确认",
        "flagged_surplus" => "多余待审",
        "removed_from_roster" => "已移出花名册",
        // members.baseline_kind
        "at_start" => "排查开始时在册",
        "added" => "排查开始后登记",
        // members.contact_status, contact_cases.result
        "normal" => "正常",
        "mobile" => "流动",
        "lost" => "失联",
        "searching" => "查找中",
        "found" => "已取得联系",
        "managed_elsewhere" => "已在他处管理",
        "still_lost" => "仍无法取得联系",
        // 党组织类别
        "state_enterprise" => "国有企业",
        "non_public_enterprise" => "非公有制企业",
        "rural" => "农村",
        "government" => "党政机关",
        "school" => "学校",
        "other_institution" => "其他事业单位",
        "street_community" => "街道社区",
        "social_organization" => "社会组织",
        "other" => "其他",
        // info_forms.confirmation_mode
        "on_site" => "现场确认",
        "post" => "邮寄",
        "fax" => "传真",
        "email" => "电子邮件",
        "assisted_home_visit" => "上门协助",
        // roster_ledger_entries
        "ledger_a" => "台帐A（不在花名册）",
        "ledger_b" => "台帐B（花名册多余人员）",
        "deceased" => "死亡",
        "transferred_out" => "已转出",
        "duplicate" => "重复登记",
        "removed_or_expelled" => "已除名或开除",
        "suspended" => "已停止党籍",
        "listed_in_error" => "非党员误登",
        "no_such_person" => "查无此人",
        "added_to_roster" => "已列入花名册",
        "under_identity_review" => "身份审查中",
        "not_recognized" => "不予认定",
        // ledger_submissions.status
        "draft" => "草稿",
        "submitted" => "已报送",
        "returned" => "已退回",
        "approved" => "已通过",
        "reopened" => "已重新打开",
        // archive_reviews
        "transferred_in" => "组织关系转入",
        "incomplete" => "不完整",
        "identity_in_doubt" => "身份存疑",
        "requested" => "已申请",
        "under_review" => "审核中",
        "exempt_confirmed" => "确认免于补办",
        "proof_requested" => "需补充证明",
        "county_review" => "报县级审核",
        "confirmed" => "已确认",
        "complete" => "完整",
        "irregular_admission" => "入党手续不规范",
        "false_member" => "假党员",
        "joined_before_founding" => "新中国成立前入党",
        "retired" => "离退休",
        "aged_sixty_rural_or_community" => "年满60周岁的农村或社区党员",
        // 失去联系情形
        "working_away" => "外出务工经商",
        "employer_restructured" => "单位改制或破产",
        "unknown_after_graduation" => "毕业后去向不明",
        "employer_changed" => "工作单位改变",
        "went_abroad" => "出国（境）",
        "residence_changed" => "居住地改变",
        // search methods, channels, departments, results
        "direct" => "直接查找",
        "interpersonal" => "人际查找",
        "department" => "部门查找",
        "phone" => "电话",
        "sms" => "短信",
        "home_visit" => "上门走访",
        "relatives" => "亲属",
        "neighbours" => "邻居",
        "colleagues" => "同事",
        "classmates" => "同学",
        "friends" => "朋友",
        "police_household" => "公安户籍",
        "student_records" => "学籍档案",
        "social_security" => "社会保险",
        "medical_insurance" => "医疗保险",
        "minimum_allowance" => "低保",
        "property" => "房产",
        "business_registration" => "工商登记",
        "tax" => "税务",
        "social_network" => "网络社交平台",
        "telecom_operator" => "电信运营商",
        "airline_railway" => "航空铁路",
        "hotline_12371" => "12371党建热线",
        "caretaker_office" => "破产改制企业留守处",
        "reunion" => "亲朋同学团聚",
        "no_lead" => "无线索",
        "lead" => "有线索",
        "contact_made" => "已取得联系",
        "in_progress" => "办理中",
        "done" => "已办结",
        // contact_cases causes
        "subjective" => "主观原因",
        "objective" => "客观原因",
        "personal" => "个人原因",
        "organizational" => "组织原因",
        "momentary" => "一时表现",
        "consistent" => "一贯表现",
        // transfers.receipt_status
        "issued" => "已开具介绍信",
        "receipt_pending" => "待回执",
        "receipt_received" => "已收到回执",
        "receiver_contacted" => "已联系接收方",
        "receipt_reissued" => "已补开回执",
        "receiver_unreachable" => "接收方无法联系",
        // performance_checks
        "colleagues_neighbours" => "同事邻居",
        "discipline_inspection" => "纪检监察",
        "police" => "公安",
        "court" => "法院",
        "family_planning" => "卫生健康（计生）",
        "religious_affairs" => "民族宗教",
        "industry_commerce" => "市场监管（工商）",
        // dispositions
        "restore_normal" => "恢复正常管理",
        "correction_deadline" => "限期改正",
        "persuade_withdraw" => "劝其退党",
        "remove" => "除名",
        "suspend" => "停止党籍",
        "cancel_probation" => "取消预备党员资格",
        "probation_not_retained" => "不再保留预备党员资格",
        "restore_membership" => "恢复党籍",
        "proposed" => "拟处置",
        "branch_meeting_decided" => "支部大会已讨论",
        "filed" => "已备案",
        "effective" => "已生效",
        "rejected" => "不予批准",
        // members.move_status
        "accepted" => "已转入",
        "declined" => "接收支部不予接收",
        "cancelled" => "已撤销",
        _ => return None,
    })
}

/// The Chinese label of `value`, a word of the enum field `field` of `collection`.
pub fn enum_label(collection: Collection, field: &str, value: &str) -> Option<&'static str> {
    OVERRIDES
        .iter()
        .find(|(c, f, w, _)| *c == collection && *f == field && *w == value)
        .map(|(_, _, _, label)| *label)
        .or_else(|| word(value))
}

/// The word of the enum field `field` of `collection` whose label is `label` (a spreadsheet's
/// 男, 预备党员, 街道社区): the one table read backwards.
pub fn word_for_label(collection: Collection, field: &str, label: &str) -> Option<&'static str> {
    let spec = collection.schema().field(field)?;
    words(spec.ty)
        .iter()
        .find(|w| enum_label(collection, field, w) == Some(label))
        .copied()
}

/// The label of a word without knowing its field (exports of mixed values): the general label.
pub fn word_label(value: &str) -> Option<&'static str> {
    word(value)
}

/// The words of an enum or enum-list field type.
pub fn words(ty: FieldType) -> &'static [&'static str] {
    match ty {
        FieldType::Enum(words) | FieldType::EnumList(words) => words,
        _ => &[],
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_word_of_every_collection_has_a_label() {
        for collection in Collection::ALL {
            for spec in collection.schema().fields {
                for w in words(spec.ty) {
                    assert!(
                        enum_label(collection, spec.name, w).is_some(),
                        "{}.{}: {w}",
                        collection.as_str(),
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_override_names_a_word_of_its_field() {
        for (c, f, w, _) in OVERRIDES {
            let spec = c.schema().field(f).expect("field exists");
            assert!(words(spec.ty).contains(w), "{}.{f}: {w}", c.as_str());
        }
    }

    #[test]
    fn a_field_may_read_a_word_differently() {
        assert_eq!(
            enum_label(Collection::ArchiveReviews, "finding", "lost"),
            Some("档案丢失")
        );
        assert_eq!(
            enum_label(Collection::Members, "contact_status", "lost"),
            Some("失联")
        );
        assert_eq!(enum_label(Collection::Members, "gender", "x"), None);
    }
}
