//! Calendar arithmetic used by the rules: calendar months, full months and full years.
//!
//! docs/domain.md §8.1: subtracting months clamps to the month's last day (31 August − 6 months
//! = end of February). None of these functions panic for any date chrono can represent.

use chrono::{Datelike, Months, NaiveDate};

/// The date `months` calendar months before `date`, clamped to the end of the month.
///
/// When the day does not exist in the target month, the last day of that month is used:
/// 2016-08-31 − 6 = 2016-02-29, 2017-08-31 − 6 = 2017-02-28, 2016-03-07 − 6 = 2015-09-07.
///
/// Saturates: if the result would fall before the earliest date chrono can represent, the
/// result is [`NaiveDate::MIN`]. Such a date is far outside any real campaign, and "the
/// earliest possible date" keeps the comparison `last_contact <= cutoff` meaningful (only a
/// contact on that very date would count) instead of panicking.
pub fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// The number of whole calendar months from `from` to `to`; 0 if `to` is before `from`.
///
/// It is consistent with [`months_before`]: the result is the largest `n` with
/// `months_before(to, n) >= from`. So 2015-09-07 → 2016-03-07 is 6 months,
/// 2015-09-08 → 2016-03-07 is 5, and 2016-02-29 → 2016-08-31 is 6 (end-of-month clamping).
/// The counting goes backwards from `to`, so 2016-01-31 → 2016-02-29 is 0 (2016-02-29 − 1
/// month = 2016-01-29, before 2016-01-31).
pub fn full_months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let month_index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    // `months_before(to, estimate)` lands in the month of `from`; if it lands before `from`
    // (same month, earlier day), one month fewer is the whole number.
    let estimate = month_index(to) - month_index(from);
    let estimate = u32::try_from(estimate).unwrap_or(0);
    if months_before(to, estimate) >= from {
        estimate
    } else {
        estimate.saturating_sub(1)
    }
}

/// Age in full years (周岁) on the date `on`; 0 if `on` is before `birth`.
///
/// The age increases on the anniversary of the birth date. For someone born on 29 February,
/// the anniversary in a common year is taken to be **1 March**: on 28 February of a common
/// year they have not yet completed the year (born 2000-02-29: still 17 on 2018-02-28, 18 on
/// 2018-03-01). This is the usual reading of 周岁 and matters for the "60岁以上" clause of
/// the form exemption (docs/domain.md §8.3).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on <= birth {
        return 0;
    }
    let mut years = i64::from(on.year()) - i64::from(birth.year());
    // Comparing (month, day) makes 29 Feb fall after 28 Feb and before 1 March, which gives
    // the 1 March reading for common years.
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// The calendar day in China (UTC+8 all year, no daylight saving) at the instant `at`: the day
/// deadlines are counted in.
pub fn china_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (at + chrono::TimeDelta::hours(8)).date_naive()
}

/// A date written the Chinese way, without padding: 2016-03-07 → "2016年3月7日".
pub fn format_date_zh(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_before_clamps_to_month_end() {
        let table: &[((NaiveDate, u32), NaiveDate)] = &[
            ((d(2016, 3, 7), 6), d(2015, 9, 7)),
            ((d(2016, 8, 31), 6), d(2016, 2, 29)),
            ((d(2017, 8, 31), 6), d(2017, 2, 28)),
            ((d(2016, 3, 31), 1), d(2016, 2, 29)),
            ((d(2016, 5, 31), 1), d(2016, 4, 30)),
            ((d(2016, 3, 7), 0), d(2016, 3, 7)),
            ((d(2016, 3, 7), 12), d(2015, 3, 7)),
            ((d(2016, 2, 29), 12), d(2015, 2, 28)),
            ((d(2016, 1, 15), 1), d(2015, 12, 15)),
            ((d(2016, 3, 7), 24), d(2014, 3, 7)),
        ];
        for ((date, months), expected) in table {
            assert_eq!(
                months_before(*date, *months),
                *expected,
                "{date} - {months}"
            );
        }
    }

    #[test]
    fn months_before_saturates() {
        let table: &[((NaiveDate, u32), NaiveDate)] = &[
            ((NaiveDate::MIN, 1), NaiveDate::MIN),
            ((NaiveDate::MIN, u32::MAX), NaiveDate::MIN),
            ((NaiveDate::MAX, u32::MAX), NaiveDate::MIN),
            ((d(2016, 3, 7), u32::MAX), NaiveDate::MIN),
            ((NaiveDate::MIN, 0), NaiveDate::MIN),
        ];
        for ((date, months), expected) in table {
            assert_eq!(
                months_before(*date, *months),
                *expected,
                "{date} - {months}"
            );
        }
    }

    #[test]
    fn full_months() {
        let table: &[((NaiveDate, NaiveDate), u32)] = &[
            ((d(2015, 9, 7), d(2016, 3, 7)), 6),
            ((d(2015, 9, 8), d(2016, 3, 7)), 5),
            ((d(2015, 9, 6), d(2016, 3, 7)), 6),
            ((d(2016, 2, 29), d(2016, 8, 31)), 6),
            ((d(2016, 3, 1), d(2016, 8, 31)), 5),
            ((d(2017, 2, 28), d(2017, 8, 31)), 6),
            ((d(2017, 3, 1), d(2017, 8, 31)), 5),
            // 2016-02-29 − 1 = 2016-01-29, before 2016-01-31: not a whole month yet.
            ((d(2016, 1, 31), d(2016, 2, 29)), 0),
            ((d(2016, 1, 29), d(2016, 2, 29)), 1),
            ((d(2016, 1, 31), d(2016, 3, 31)), 2),
            ((d(2016, 3, 7), d(2016, 3, 7)), 0),
            ((d(2016, 3, 8), d(2016, 3, 7)), 0),
            ((d(2016, 3, 7), d(2015, 3, 7)), 0),
            ((d(2000, 1, 1), d(2016, 3, 7)), 194),
            ((NaiveDate::MIN, NaiveDate::MIN), 0),
            ((NaiveDate::MAX, NaiveDate::MIN), 0),
        ];
        for ((from, to), expected) in table {
            assert_eq!(full_months_between(*from, *to), *expected, "{from} -> {to}");
        }
        // Far apart extremes do not panic and stay consistent with months_before.
        let n = full_months_between(NaiveDate::MIN, NaiveDate::MAX);
        assert!(months_before(NaiveDate::MAX, n) >= NaiveDate::MIN);
    }

    #[test]
    fn full_months_is_consistent_with_months_before() {
        let to_dates = [
            d(2016, 3, 7),
            d(2016, 8, 31),
            d(2017, 8, 31),
            d(2016, 2, 29),
        ];
        for to in to_dates {
            let mut from = d(2014, 1, 1);
            while from <= to {
                let n = full_months_between(from, to);
                assert!(months_before(to, n) >= from, "{from} -> {to}: {n}");
                assert!(
                    months_before(to, n + 1) < from,
                    "{from} -> {to}: {n} not largest"
                );
                from = from.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn ages() {
        let table: &[((NaiveDate, NaiveDate), u32)] = &[
            ((d(1956, 3, 7), d(2016, 3, 7)), 60),
            ((d(1956, 3, 8), d(2016, 3, 7)), 59),
            ((d(1956, 3, 6), d(2016, 3, 7)), 60),
            // Born on 29 February: the birthday in a common year is 1 March.
            ((d(2000, 2, 29), d(2018, 2, 28)), 17),
            ((d(2000, 2, 29), d(2018, 3, 1)), 18),
            ((d(2000, 2, 29), d(2020, 2, 28)), 19),
            ((d(2000, 2, 29), d(2020, 2, 29)), 20),
            ((d(1956, 2, 29), d(2016, 2, 29)), 60),
            ((d(1956, 2, 29), d(2017, 2, 28)), 60),
            // Not yet born.
            ((d(2016, 3, 8), d(2016, 3, 7)), 0),
            ((d(2016, 3, 7), d(2016, 3, 7)), 0),
            ((NaiveDate::MIN, NaiveDate::MAX), 524_285),
            ((NaiveDate::MAX, NaiveDate::MIN), 0),
        ];
        for ((birth, on), expected) in table {
            assert_eq!(age_on(*birth, *on), *expected, "born {birth} on {on}");
        }
    }

    #[test]
    fn dates_in_chinese() {
        let table: &[(NaiveDate, &str)] = &[
            (d(2016, 3, 7), "2016年3月7日"),
            (d(2015, 12, 31), "2015年12月31日"),
        ];
        for (date, expected) in table {
            assert_eq!(format_date_zh(*date), *expected);
        }
    }
}
