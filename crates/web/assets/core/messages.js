// What a person reads, in Chinese: labels of roles, units, phase states and counts, and the
// messages of failures the server cannot word itself (it words every API error).

export const ROLE = {
  system_admin: '平台管理员',
  committee_admin: '党工委',
  org_office: '组织办',
  street_staff: '街道',
  work_area_staff: '工作区',
  branch_secretary: '党支部书记',
  group_member: '工作组成员',
  viewer: '查阅人员',
};

export const KIND = {
  committee: '党工委',
  street: '街道',
  work_area: '工作区',
  branch: '党支部',
};

// Phase states as the console shows them (the server's `state_zh` is preferred when present).
export const PHASE_STATE = {
  not_applicable: '不涉及',
  open: '进行中',
  on_time: '按期完成',
  late: '逾期完成',
  missing: '逾期未完成',
};

export const COUNT = {
  members_total: '在册党员',
  verified: '已核查',
  verified_by_deadline: '按期核查',
  lost_contact_at_start: '排查开始时失联',
  mobile: '流动党员',
  info_forms_complete: '采集表完整',
  contact_cases: '查找记录',
  found: '已取得联系',
  still_lost: '仍无法联系',
  transfers: '转出党员',
  transfers_without_receipt: '转出未回执',
  department_requests_pending: '待部门查找',
  archive_reviews_open: '档案待审核',
  overdue: '逾期事项',
  suspended: '停止党籍',
};

export const MSG = {
  unreachable: '无法连接服务器，正在自动重试……',
  reconnected: '已恢复连接',
  session_expired: '登录已过期，请重新登录',
  timeout: '服务器响应超时，请稍后再试',
  unexpected: '服务器返回了无法识别的内容',
  loading: '正在加载……',
  sign_in: '登录',
  sign_out: '退出登录',
  username: '用户名',
  password: '密码',
  signing_in: '正在登录……',
  change_password_title: '首次登录，请先修改密码',
  change_password_hint: '初始密码只能用于首次登录。设置新密码后才能继续使用。',
  current_password: '原密码',
  new_password: '新密码',
  confirm_password: '再次输入新密码',
  passwords_differ: '两次输入的新密码不一致',
  password_same: '新密码不能与原密码相同',
  change_password: '修改密码',
  changing_password: '正在修改……',
  empty_children: '本单位没有下级单位。',
  no_campaign: '尚未设置排查工作（开始日期），各阶段暂无进度。',
};

export const ROSTER_STATUS = {
  unverified: '未核查',
  confirmed_on_site: '已核查（现场确认）',
  confirmed_remote: '已核查（远程确认）',
  confirmed_assisted: '已核查（协助确认）',
  pending_lost: '失联待确认',
  flagged_surplus: '标记为多余人员',
  removed_from_roster: '已移出花名册',
};

export const CONTACT_STATUS = {
  normal: '正常',
  mobile: '流动',
  lost: '失联',
  searching: '查找中',
  found: '已取得联系',
  managed_elsewhere: '已在他处管理',
  still_lost: '仍无法取得联系',
};

export const GENDER = { male: '男', female: '女' };
export const MEMBER_TYPE = { full: '正式党员', probationary: '预备党员' };

/** The Chinese label of each member field (docs/protocol.md §9.3). */
export const MEMBER_FIELD = {
  name: '姓名',
  gender: '性别',
  id_number: '公民身份号码',
  birth_date: '出生日期',
  ethnicity: '民族',
  native_place: '籍贯',
  phone: '联系电话',
  education: '学历',
  member_type: '人员类别',
  join_date: '入党日期',
  full_member_date: '转为正式党员日期',
  sponsors: '入党介绍人',
  transferred_in_on: '组织关系转入日期',
  work_unit: '工作单位',
  job: '工作岗位',
  work_started_on: '参加工作日期',
  residence: '现居住地',
  household_registration: '户籍所在地',
  police_station: '户籍所在派出所',
  last_activity_on: '最后参加组织生活日期',
  last_dues_paid_on: '最后交纳党费日期',
  whereabouts_known: '去向是否明确',
  flow_out_on: '流出时间',
  flow_out_reason: '流出原因',
  flow_destination: '流出去向',
  inflow_organization: '流入地党组织',
  contact_while_away: '外出期间联系方式',
  holds_mobile_card: '是否持流动党员活动证',
  retired: '是否离退休',
  relationship_uninterrupted: '组织关系是否一直未中断',
  org_category: '党组织类别',
  contact_status: '联系状态',
  roster_status: '核查状态',
  on_roster: '是否在花名册',
  checked_on: '核查结果登记日期',
  archive_checked_on: '档案核查日期',
  dues_checked_on: '党费及组织生活核查日期',
  transfer_checked_on: '组织关系接转核查日期',
  performance_checked_on: '现实表现核查日期',
  remote_reason: '远程确认原因',
  confirmation_exception: '无完整采集表确认的理由',
  baseline_on: '底数登记日期',
  baseline_kind: '底数类别',
  baseline_lost: '排查开始时失联',
  baseline_lost_months: '排查开始时失联月数',
  baseline_mobile: '排查开始时流动',
  baseline_corrected_on: '底数更正日期',
  baseline_correction: '底数更正理由',
  remarks: '备注',
};

export const OP = { put: '新建', patch: '修改', delete: '删除' };
