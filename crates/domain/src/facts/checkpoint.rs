//! The status read model on disk: a tenant's [`Facts`] as they stood at a version, in
//! postcard's compact binary form (a varint per number, a day number per date, a word by its
//! number, each unit path once), so a server started again reads the facts back and catches up from that version
//! instead of reading and parsing every record (issue #23: a million members, 12–20 s).
//!
//! A checkpoint begins with its format and the enum words of this build's collections. One of
//! another format, or written against other words, is refused ([`CheckpointError`]) and the
//! model is loaded from the records as before. Whenever the encoding of a fact changes, bump
//! [`FORMAT`]: the test `the_encoding_is_pinned` fails until it is.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, LazyLock};

use chrono::NaiveDate;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::{Entry, Fact, Facts};
use crate::collection::{Collection, FieldType};

/// The encoding's number. Bump it with any change to how a fact is written **or derived** from
/// its record (`Fact::of` and what it calls): a checkpoint holds facts, not records, and a
/// server would otherwise go on serving facts an older build worked out. The tests
/// `the_encoding_is_pinned` and `the_derivation_is_pinned` fail until it is bumped.
pub const FORMAT: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("a checkpoint of format {0}, where this build reads format {FORMAT}")]
    Format(u32),
    #[error("a checkpoint written against other collections or enum words than this build's")]
    Words,
    #[error("a checkpoint whose bytes do not match its checksum")]
    Damaged,
    #[error("a checkpoint that cannot be read: {0}")]
    Decode(#[from] postcard::Error),
}

/// Every enum word of the collections' fields, in the order they are declared.
pub(super) static WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut seen = HashSet::new();
    Collection::ALL
        .iter()
        .flat_map(|c| c.schema().fields)
        .filter_map(|f| match f.ty {
            FieldType::Enum(words) => Some(words),
            _ => None,
        })
        .flatten()
        .copied()
        .filter(|w| seen.insert(*w))
        .collect()
});

/// The collections' names, in the order their records' keys are written by.
static COLLECTIONS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| Collection::ALL.iter().map(|c| c.as_str()).collect());

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    format: u32,
    #[serde(borrow)]
    collections: Vec<&'a str>,
    #[serde(borrow)]
    words: Vec<&'a str>,
    /// The body's CRC-32.
    crc: u32,
}

impl Facts {
    /// The facts in a checkpoint's form ([`Facts::from_checkpoint`] reads it back).
    pub fn checkpoint(&self) -> Result<Vec<u8>, CheckpointError> {
        let body = postcard::to_stdvec(&Body(self))?;
        let header = Header {
            format: FORMAT,
            collections: COLLECTIONS.clone(),
            words: WORDS.clone(),
            crc: crc32fast::hash(&body),
        };
        let mut out = postcard::to_stdvec(&header)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The facts a checkpoint holds, exactly as they were written.
    pub fn from_checkpoint(bytes: &[u8]) -> Result<Facts, CheckpointError> {
        let (header, body) = postcard::take_from_bytes::<Header>(bytes)?;
        if header.format != FORMAT {
            return Err(CheckpointError::Format(header.format));
        }
        if header.collections != *COLLECTIONS || header.words != *WORDS {
            return Err(CheckpointError::Words);
        }
        if crc32fast::hash(body) != header.crc {
            return Err(CheckpointError::Damaged);
        }
        let mut read = postcard::Deserializer::from_bytes(body);
        // No record takes fewer bytes than its key: a length read from damaged bytes reserves
        // no more than the checkpoint could hold.
        let facts = BodySeed {
            most_records: body.len() / MIN_RECORD_BYTES,
        }
        .deserialize(&mut read)?;
        Ok(facts)
    }
}

/// A record's collection (1 byte), id (17), path number (1 at least) and fact (1 at least).
const MIN_RECORD_BYTES: usize = 20;

/// The body written: the unit paths in the order of their numbers, then each record as
/// (collection, id, path number, fact).
struct Body<'a>(&'a Facts);

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let paths: Vec<&str> = self.0.paths.iter().map(|path| &**path).collect();
        let mut body = s.serialize_tuple(2)?;
        body.serialize_element(&paths)?;
        body.serialize_element(&Records(self.0))?;
        body.end()
    }
}

struct Records<'a>(&'a Facts);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .records
                .iter()
                .map(|((c, id), e)| (c, id, e.at, &e.fact)),
        )
    }
}

/// The body read, straight into the maps of [`Facts`].
struct BodySeed {
    most_records: usize,
}

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Facts;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Facts, D::Error> {
        d.deserialize_tuple(2, self)
    }
}

impl<'de> Visitor<'de> for BodySeed {
    type Value = Facts;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the unit paths and the records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Facts, A::Error> {
        let missing = || serde::de::Error::custom("a checkpoint cut short");
        let paths: Vec<Arc<str>> = seq
            .next_element::<Vec<&str>>()?
            .ok_or_else(missing)?
            .into_iter()
            .map(Arc::from)
            .collect();
        let records = seq
            .next_element_seed(RecordsSeed {
                paths: paths.len(),
                most: self.most_records,
            })?
            .ok_or_else(missing)?;
        let mut numbers = HashMap::with_capacity(paths.len());
        for (at, path) in (0u32..).zip(&paths) {
            if numbers.insert(path.clone(), at).is_some() {
                // Two numbers for one path: a rollup would count its records apart.
                return Err(serde::de::Error::custom("a unit path listed twice"));
            }
        }
        Ok(Facts {
            records,
            paths,
            numbers,
        })
    }
}

struct RecordsSeed {
    /// How many paths there are.
    paths: usize,
    most: usize,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed {
    type Value = super::records::Records;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed {
    type Value = super::records::Records;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the records' facts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records =
            super::records::Records::with_capacity(seq.size_hint().unwrap_or(0).min(self.most));
        while let Some((c, id, at, fact)) = seq.next_element::<(Collection, Uuid, u32, Fact)>()? {
            if usize::try_from(at).map_or(true, |i| i >= self.paths) {
                return Err(serde::de::Error::custom("a record of no unit path"));
            }
            records.insert((c, id), Entry { at, fact });
        }
        Ok(records)
    }
}

/// A word of a collection's enum: written as its number among the words the header lists
/// (this build's), read back as the declaration's own text.
pub(crate) mod word {
    use super::*;
    use crate::facts::Word;

    /// Each word's number in [`WORDS`].
    static NUMBERS: LazyLock<HashMap<&'static str, u16>> =
        LazyLock::new(|| (0u16..).zip(WORDS.iter()).map(|(n, w)| (*w, n)).collect());

    /// `text`'s number in [`WORDS`], when a collection declares it.
    pub(crate) fn number(text: &str) -> Option<u16> {
        NUMBERS.get(text).copied()
    }

    pub fn serialize<S: Serializer>(w: &Word, s: S) -> Result<S::Ok, S::Error> {
        w.get()
            .map(|w| {
                number(w).ok_or_else(|| serde::ser::Error::custom("a word no collection declares"))
            })
            .transpose()?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Word, D::Error> {
        match Option::<u16>::deserialize(d)? {
            None => Ok(Word::NONE),
            Some(n) if usize::from(n) < WORDS.len() => Ok(Word(n + 1)),
            Some(_) => Err(serde::de::Error::custom("a word number beyond the words")),
        }
    }
}

/// A date as its day number (days from 1 January of year 1).
pub(crate) mod day {
    use super::*;

    pub(super) fn to_number(d: Option<NaiveDate>) -> Option<i32> {
        d.map(|d| chrono::Datelike::num_days_from_ce(&d))
    }

    pub(super) fn of_number<E: serde::de::Error>(n: Option<i32>) -> Result<Option<NaiveDate>, E> {
        n.map(|n| NaiveDate::from_num_days_from_ce_opt(n).ok_or_else(|| E::custom("no such day")))
            .transpose()
    }

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        to_number(*d).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        of_number(Option::<i32>::deserialize(d)?)
    }
}

/// The dated start facts of [`crate::baseline::Kept`], as day numbers.
pub(crate) mod kept_days {
    use super::*;

    type Dated = [(Option<Option<NaiveDate>>, Option<NaiveDate>); 3];
    type Numbers = [(Option<Option<i32>>, Option<i32>); 3];

    pub fn serialize<S: Serializer>(dated: &Dated, s: S) -> Result<S::Ok, S::Error> {
        let numbers: Numbers =
            dated.map(|(kept, current)| (kept.map(day::to_number), day::to_number(current)));
        numbers.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Dated, D::Error> {
        let [a, b, c] = Numbers::deserialize(d)?;
        let one = |(kept, current): (Option<Option<i32>>, Option<i32>)| {
            Ok::<_, D::Error>((
                kept.map(day::of_number).transpose()?,
                day::of_number(current)?,
            ))
        };
        Ok([one(a)?, one(b)?, one(c)?])
    }
}

/// A campaign's fields, as their JSON text.
pub(crate) mod json {
    use super::*;
    use serde_json::{Map, Value};

    pub fn serialize<S: Serializer>(fields: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
        serde_json::to_string(fields)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Box<Map<String, Value>>, D::Error> {
        serde_json::from_str(<&str>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{DepartmentRequest, Word, WorkingGroup};
    use serde_json::{Map, Value, json};

    /// The `n`th of every collection's words.
    fn w(n: usize) -> Word {
        Word::of(WORDS[n])
    }

    /// A record of `c` with a value in every field the schema declares, the `n`th of its kind:
    /// words, dates, numbers and flags vary with `n`, and every third field is left out.
    fn record(c: Collection, n: usize) -> Map<String, Value> {
        let mut fields = Map::new();
        for (i, f) in c.schema().fields.iter().enumerate() {
            if (i + n).is_multiple_of(3) {
                continue;
            }
            let value = match f.ty {
                FieldType::Text(_) => json!(format!("文本{n}")),
                FieldType::Date => json!(format!(
                    "20{:02}-{:02}-{:02}",
                    10 + (n + i) % 17,
                    1 + n % 12,
                    1 + n % 28
                )),
                FieldType::Bool => json!(n.is_multiple_of(2)),
                FieldType::Int { min, max } => json!((min + i64::try_from(n).unwrap()).min(max)),
                FieldType::Enum(words) => json!(words[n % words.len()]),
                FieldType::EnumList(words) => json!([words[n % words.len()]]),
                FieldType::IdNumber => json!("11010519491231002X"),
                FieldType::Ref(_) | FieldType::Unit(_) => json!(Uuid::from_u128(n as u128 + 7)),
                FieldType::Blob => json!("a".repeat(64)),
                FieldType::BlobList => json!(["b".repeat(64), "c".repeat(64)]),
                FieldType::People => json!([{"name": "张三", "duty": "组长"}]),
            };
            fields.insert(f.name.to_owned(), value);
        }
        fields
    }

    /// Many records of every collection over a few unit paths, some deleted again.
    fn facts() -> Facts {
        let mut facts = Facts::default();
        let paths = ["/a/", "/a/b/", "/a/b/c/", "/a/d/"];
        for c in Collection::ALL {
            for n in 0..60 {
                let id = Uuid::from_u128((n as u128) << 8 | c as u128);
                facts.apply(c, id, paths[n % paths.len()], false, &record(c, n));
                if n % 11 == 5 {
                    facts.apply(c, id, paths[0], true, &Map::new());
                }
            }
        }
        facts
    }

    /// Everything the facts hold, in one order: each record's key, path, path number and fact.
    fn listing(facts: &Facts) -> Vec<String> {
        let mut out: Vec<String> = facts
            .records
            .iter()
            .map(|(key, e)| format!("{key:?} {} {} {:?}", facts.path(e), e.at, e.fact))
            .collect();
        out.extend(
            facts
                .paths
                .iter()
                .enumerate()
                .map(|(at, p)| format!("path {p} {p} {at}")),
        );
        out.sort();
        out
    }

    #[test]
    fn a_checkpoint_reads_back_as_the_facts_it_was_written_from() {
        let facts = facts();
        assert!(facts.len() > 600, "{}", facts.len());
        // The records fill the facts' optional parts, not only their defaults.
        let members = || {
            facts.records.values().filter_map(|e| match &e.fact {
                Fact::Member(m) => Some(m),
                _ => None,
            })
        };
        assert!(members().any(|m| m.baseline.is_some()));
        assert!(members().any(|m| m.flow_destination.is_some()));
        assert!(members().any(|m| m.start != crate::baseline::Kept::default()));
        assert!(
            facts
                .records
                .values()
                .any(|e| matches!(&e.fact, Fact::Form(f) if f.entry.is_some()))
        );
        let bytes = facts.checkpoint().unwrap();
        let read = Facts::from_checkpoint(&bytes).unwrap();
        assert_eq!(listing(&read), listing(&facts));
        // The words are the declarations' own, as the facts from records hold them.
        for (key, e) in read.records.iter() {
            if let (Fact::Member(m), Fact::Member(original)) = (&e.fact, &facts.records[key].fact) {
                let (Some(w), Some(o)) = (m.roster_status.get(), original.roster_status.get())
                else {
                    continue;
                };
                assert!(std::ptr::eq(w, o), "{w}");
            }
        }
        // Facts read back go on as the ones loaded: a new path is numbered after the others.
        let mut read = read;
        let mut facts = facts;
        for f in [&mut read, &mut facts] {
            let c = Collection::Members;
            f.apply(c, Uuid::from_u128(1), "/a/e/", false, &record(c, 1));
        }
        assert_eq!(listing(&read), listing(&facts));
    }

    #[test]
    fn a_checkpoint_of_another_format_words_or_damaged_is_refused() {
        let bytes = facts().checkpoint().unwrap();
        let mut other = bytes.clone();
        other[0] = u8::try_from(FORMAT + 1).unwrap();
        assert!(matches!(
            Facts::from_checkpoint(&other),
            Err(CheckpointError::Format(n)) if n == FORMAT + 1
        ));

        let (_, body) = postcard::take_from_bytes::<Header>(&bytes).unwrap();
        let with_header = |words: Vec<&'static str>, body: &[u8]| {
            let crc = crc32fast::hash(body);
            let header = Header {
                format: FORMAT,
                collections: COLLECTIONS.clone(),
                words,
                crc,
            };
            let mut out = postcard::to_stdvec(&header).unwrap();
            out.extend_from_slice(body);
            out
        };
        let mut words = WORDS.clone();
        words.pop();
        assert!(matches!(
            Facts::from_checkpoint(&with_header(words, body)),
            Err(CheckpointError::Words)
        ));
        assert!(Facts::from_checkpoint(&with_header(WORDS.clone(), body)).is_ok());

        // Cut anywhere, or with a byte of its body changed, it is refused.
        for cut in (0..bytes.len()).step_by(97) {
            assert!(Facts::from_checkpoint(&bytes[..cut]).is_err(), "{cut}");
        }
        let header = bytes.len() - body.len();
        for at in (header..bytes.len()).step_by(31) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xa5;
            assert!(matches!(
                Facts::from_checkpoint(&damaged),
                Err(CheckpointError::Damaged)
            ));
        }
        // Whatever the checksum lets through, a body that does not read as facts is refused
        // without a panic, and a record count beyond what the bytes could hold reserves
        // nothing it cannot use.
        let huge = postcard::to_stdvec(&(Vec::<&str>::new(), u32::MAX)).unwrap();
        assert!(Facts::from_checkpoint(&with_header(WORDS.clone(), &huge)).is_err());
        for at in (0..body.len()).step_by(29) {
            let mut changed = body.to_vec();
            changed[at] ^= 0x5a;
            let _ = Facts::from_checkpoint(&with_header(WORDS.clone(), &changed));
        }
    }

    /// FNV-1a: a hash that stays the same from build to build.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// One fact of each kind, every field set, built as values (not from records, so a change
    /// of the schema leaves them as they are).
    fn one_of_each() -> Vec<Fact> {
        use crate::facts::{
            Archive, Attempt, Case, Disposition, Form, Member, Submission, Transfer,
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let id = Some(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        let entry = Some(crate::entry::Entry {
            typed: Some(d("2026-03-01")),
            entered: Some(d("2026-04-02")),
            late: true,
            accepted: false,
        });
        let start = json!({
            "start_last_activity_on": "2025-01-02", "last_activity_on": "2026-05-06",
            "start_last_dues_paid_on": null, "last_dues_paid_on": "2026-01-03",
            "flow_out_on": "2024-09-09", "start_whereabouts_known": false,
            "whereabouts_known": true, "contact_status": "lost", "lost_at_start": true,
        });
        vec![
            Fact::Member(Box::new(Member {
                roster_status: w(1),
                contact_status: w(2),
                member_type: w(3),
                whereabouts_known: Some(true),
                last_activity_on: Some(d("2026-05-06")),
                last_dues_paid_on: Some(d("2026-01-03")),
                flow_out_on: Some(d("2024-09-09")),
                checked_on: Some(d("2026-03-20")),
                flow_destination: Some("广东省深圳市".into()),
                baseline: Some(crate::baseline::Snapshot {
                    kind: crate::baseline::Kind::AtStart,
                    lost: true,
                    lost_months: Some(14),
                    mobile: false,
                }),
                baseline_corrected: true,
                start: crate::baseline::Kept::of_fields(start.as_object().unwrap()),
                found: true,
                confirmation_exception: true,
                start_unit: id,
            })),
            Fact::Form(Box::new(Form {
                member_id: id,
                confirmation_mode: w(4),
                confirmed_on: Some(d("2026-03-01")),
                entry,
                copies: Some(2),
                photos: 3,
                signature: true,
                fingerprint: false,
                flag_photo: true,
                pledge_signed: true,
            })),
            Fact::LedgerEntry {
                ledger: w(5),
                outcome: w(7),
            },
            Fact::Submission(Box::new(Submission {
                ledger: w(6),
                status: w(8),
                received_on: Some(d("2026-06-30")),
            })),
            Fact::Archive(Box::new(Archive {
                status: w(9),
                exemption: w(12),
            })),
            Fact::Case(Box::new(Case {
                member_id: id,
                result: w(13),
                found_by: w(14),
                loss_circumstance: w(15),
            })),
            Fact::Attempt(Box::new(Attempt {
                case_id: id,
                attempted_on: Some(d("2026-04-01")),
                entry,
                method: w(16),
            })),
            Fact::DepartmentRequest(Box::new(DepartmentRequest {
                case_id: id,
                status: w(10),
                executed_on: Some(d("2026-05-01")),
            })),
            Fact::Transfer(Box::new(Transfer {
                checked_on: Some(d("2026-03-03")),
                receipt_status: w(17),
                receipt_on: Some(d("2026-03-04")),
                entry,
                registered_lost: true,
                withdrawn: false,
            })),
            Fact::Performance { violation: true },
            Fact::Disposition(Box::new(Disposition {
                member_id: id,
                kind: w(18),
                status: w(11),
                effective_on: Some(d("2026-07-01")),
            })),
            Fact::Campaign(Box::new(
                json!({"name": "排查", "start_date": "2026-03-07"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )),
            Fact::WorkingGroup(Box::new(WorkingGroup {
                actual_count: Some(1234),
                explained: true,
            })),
        ]
    }

    /// The bytes a checkpoint of one fact of each kind is written as. When this fails, the
    /// encoding changed: bump [`FORMAT`] (a server would otherwise read an old checkpoint
    /// wrongly) and put the new hash here.
    #[test]
    fn the_encoding_is_pinned() {
        let mut all = Vec::new();
        for (i, fact) in one_of_each().into_iter().enumerate() {
            let path: Arc<str> = Arc::from("/a/b/");
            let mut one = Facts::default();
            one.paths.push(path.clone());
            one.numbers.insert(path, 0);
            let key = (
                Collection::ALL[i % Collection::ALL.len()],
                Uuid::from_u128(42),
            );
            one.records.insert(key, Entry { at: 0, fact });
            let bytes = one.checkpoint().unwrap();
            let (_, body) = postcard::take_from_bytes::<Header>(&bytes).unwrap();
            all.extend_from_slice(body);
        }
        assert_eq!(
            (FORMAT, fnv(&all)),
            (3, 7_338_605_173_618_908_085),
            "the checkpoint's encoding changed: bump FORMAT and pin the new hash"
        );
    }

    /// The facts derived from a fixed set of records (every field of every collection, some
    /// left out, some deleted again). When this fails, `Fact::of` or what it calls derives
    /// differently, or the schema changed: after a change of derivation bump [`FORMAT`] (a
    /// checkpoint would otherwise keep the old facts); after a change of the schema alone,
    /// only put the new hash here.
    #[test]
    fn the_derivation_is_pinned() {
        let listing = listing(&facts()).join("\n");
        assert_eq!(
            (FORMAT, fnv(listing.as_bytes())),
            (3, 9_477_913_140_288_720_971),
            "the facts derived from records changed: bump FORMAT if the derivation did"
        );
    }

    #[test]
    fn a_checkpoint_listing_a_path_twice_is_refused() {
        let mut facts = Facts::default();
        let c = Collection::Members;
        facts.apply(c, Uuid::from_u128(1), "/a/", false, &record(c, 1));
        assert!(Facts::from_checkpoint(&facts.checkpoint().unwrap()).is_ok());
        // A second number for the same path (what only a writer's bug could produce).
        facts.paths.push(Arc::from("/a/"));
        facts.numbers.insert(Arc::from("/elsewhere/"), 1);
        facts.apply(c, Uuid::from_u128(2), "/elsewhere/", false, &record(c, 2));
        assert!(matches!(
            Facts::from_checkpoint(&facts.checkpoint().unwrap()),
            Err(CheckpointError::Decode(_))
        ));
    }
}
