// What a person reads that the server cannot word itself: the messages of failures of the
// page or the network, and the sign-in screens. Every label of the API's words (roles, kinds of
// unit, states, counts, fields) comes from the server's one table, `GET /v1/schema`
// (core/words.js); none is kept here.

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
