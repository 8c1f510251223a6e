//! The one scope rule, walked through every read path for every role: pull, checksums,
//! conflicts, audit, blobs, and resolving a conflict. Each caller must see exactly the records
//! the rule gives it (its tenant; owned by or addressed to a unit at or below its own; campaigns
//! tenant-wide), and every path must agree. The rule is written out again here, independently
//! of the server's code, as the oracle.

use std::collections::{BTreeMap, BTreeSet};

use paicha_client::Client;
use paicha_domain::api::v1::MutationStatus;
use paicha_domain::role::Role;
use paicha_tests::{PASSWORD, id_number, new_user, patch, put, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn jpeg(seed: u8) -> (String, Vec<u8>) {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..600u32).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)));
    let hash = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (hash, bytes)
}

/// A record of the fixture and where it stands.
struct Rec {
    collection: &'static str,
    id: Uuid,
    tenant: char,
    owner: Uuid,
    addressee: Option<Uuid>,
    blob: Option<String>,
}

/// A caller: its role, its tenant, and the units of its subtree (none for `system_admin`).
struct Caller {
    name: &'static str,
    role: Role,
    tenant: char,
    subtree: Vec<Uuid>,
    client: Client,
}

impl Caller {
    /// The oracle: the rule as the protocol states it (docs/protocol.md §3.6).
    fn sees(&self, r: &Rec) -> bool {
        self.role != Role::SystemAdmin
            && r.tenant == self.tenant
            && (r.collection == "campaigns"
                || self.subtree.contains(&r.owner)
                || r.addressee.is_some_and(|a| self.subtree.contains(&a)))
    }

    fn reviews(&self) -> bool {
        !matches!(
            self.role,
            Role::SystemAdmin | Role::GroupMember | Role::Viewer
        )
    }
}

fn status_of(e: &paicha_client::ClientError) -> Option<StatusCode> {
    e.status()
}

#[tokio::test]
async fn every_read_path_answers_by_the_one_scope_rule_for_every_role() {
    let app = spawn_app().await;
    let t = app.tenant("a").await;
    let o = app.tenant("b").await;

    // ---- Records of tenant a: a campaign, members and info forms with photos in both
    // branches, a transfer the street addressed to branch 1; and a member of tenant b. ----
    let ok = |r: &paicha_domain::api::v1::PushResponse| {
        for x in &r.results {
            assert!(
                matches!(x.status, MutationStatus::Applied | MutationStatus::Merged),
                "{x:?}"
            );
        }
    };
    let mut recs = Vec::new();
    let campaign = Uuid::now_v7();
    ok(&t
        .admin
        .push(
            "d",
            vec![put(
                1,
                "campaigns",
                campaign,
                t.committee.id,
                json!({"name": "排查", "start_date": "2026-03-07"}),
            )],
        )
        .await
        .unwrap());
    recs.push(Rec {
        collection: "campaigns",
        id: campaign,
        tenant: 'a',
        owner: t.committee.id,
        addressee: None,
        blob: None,
    });
    for (n, (client, branch)) in [(&t.secretary1, &t.branch1), (&t.secretary2, &t.branch2)]
        .into_iter()
        .enumerate()
    {
        let (hash, bytes) = jpeg(n as u8);
        client.put_blob(&hash, bytes).await.unwrap();
        let (member, form) = (Uuid::now_v7(), Uuid::now_v7());
        ok(&client
            .push(
                "d",
                vec![
                    put(
                        1,
                        "members",
                        member,
                        branch.id,
                        json!({"name": format!("党员{n}"), "id_number": id_number("19700101", 11 + n as u32 * 2)}),
                    ),
                    put(
                        2,
                        "info_forms",
                        form,
                        branch.id,
                        json!({"member_id": member, "confirmation_mode": "on_site", "photos": [hash]}),
                    ),
                ],
            )
            .await
            .unwrap());
        recs.push(Rec {
            collection: "members",
            id: member,
            tenant: 'a',
            owner: branch.id,
            addressee: None,
            blob: None,
        });
        recs.push(Rec {
            collection: "info_forms",
            id: form,
            tenant: 'a',
            owner: branch.id,
            addressee: None,
            blob: Some(hash),
        });
    }
    let transfer = Uuid::now_v7();
    ok(&t
        .street_staff
        .push(
            "d",
            vec![put(
                1,
                "transfers",
                transfer,
                t.street.id,
                json!({"branch_id": t.branch1.id, "member_name": "王五"}),
            )],
        )
        .await
        .unwrap());
    recs.push(Rec {
        collection: "transfers",
        id: transfer,
        tenant: 'a',
        owner: t.street.id,
        addressee: Some(t.branch1.id),
        blob: None,
    });
    let foreign = Uuid::now_v7();
    ok(&o
        .secretary1
        .push(
            "d",
            vec![put(
                1,
                "members",
                foreign,
                o.branch1.id,
                json!({"name": "外单位党员"}),
            )],
        )
        .await
        .unwrap());
    recs.push(Rec {
        collection: "members",
        id: foreign,
        tenant: 'b',
        owner: o.branch1.id,
        addressee: None,
        blob: None,
    });

    // ---- Conflicts: two devices of branch 1 edit the addressed transfer's note from one base,
    // two devices of branch 2 its member's phone. ----
    let member2 = recs[3].id;
    for (client, collection, id, field) in [
        (&t.secretary1, "transfers", transfer, "follow_up_note"),
        (&t.secretary2, "members", member2, "phone"),
    ] {
        let base = {
            let mut replica = paicha_tests::Replica::default();
            replica.sync(client).await.unwrap();
            replica.records[&(collection.to_owned(), id)].0
        };
        ok(&client
            .push(
                "x",
                vec![patch(10, collection, id, Some(base), json!({field: "1"}))],
            )
            .await
            .unwrap());
        let merged = client
            .push(
                "y",
                vec![patch(10, collection, id, Some(base), json!({field: "2"}))],
            )
            .await
            .unwrap();
        assert_eq!(merged.results[0].status, MutationStatus::Merged);
    }
    let conflict_of: BTreeMap<Uuid, Uuid> = t
        .admin
        .conflicts(None, true)
        .await
        .unwrap()
        .conflicts
        .iter()
        .map(|c| (c.record_id, c.id))
        .collect();
    assert_eq!(conflict_of.len(), 2, "the committee sees both conflicts");

    // ---- The callers: every role of tenant a, tenant b's admin, the platform admin. ----
    let everything = vec![
        t.committee.id,
        t.street.id,
        t.work_area.id,
        t.branch1.id,
        t.branch2.id,
    ];
    let street = vec![t.street.id, t.work_area.id, t.branch1.id, t.branch2.id];
    let area = vec![t.work_area.id, t.branch1.id, t.branch2.id];
    let mut callers = vec![
        Caller {
            name: "committee_admin",
            role: Role::CommitteeAdmin,
            tenant: 'a',
            subtree: everything.clone(),
            client: t.admin.clone(),
        },
        Caller {
            name: "street_staff",
            role: Role::StreetStaff,
            tenant: 'a',
            subtree: street,
            client: t.street_staff.clone(),
        },
        Caller {
            name: "branch_secretary 1",
            role: Role::BranchSecretary,
            tenant: 'a',
            subtree: vec![t.branch1.id],
            client: t.secretary1.clone(),
        },
        Caller {
            name: "branch_secretary 2",
            role: Role::BranchSecretary,
            tenant: 'a',
            subtree: vec![t.branch2.id],
            client: t.secretary2.clone(),
        },
        Caller {
            name: "tenant b committee_admin",
            role: Role::CommitteeAdmin,
            tenant: 'b',
            subtree: vec![
                o.committee.id,
                o.street.id,
                o.work_area.id,
                o.branch1.id,
                o.branch2.id,
            ],
            client: o.admin.clone(),
        },
        Caller {
            name: "system_admin",
            role: Role::SystemAdmin,
            tenant: '-',
            subtree: vec![],
            client: app.admin.clone(),
        },
    ];
    for (name, role, unit, subtree) in [
        (
            "org_office",
            Role::OrgOffice,
            &t.committee,
            everything.clone(),
        ),
        ("work_area_staff", Role::WorkAreaStaff, &t.work_area, area),
        (
            "group_member",
            Role::GroupMember,
            &t.branch1,
            vec![t.branch1.id],
        ),
        ("viewer", Role::Viewer, &t.branch1, vec![t.branch1.id]),
    ] {
        let username = format!("a-{}", name.replace('_', "-"));
        t.admin
            .create_user(&new_user(&username, role, Some(unit.id)))
            .await
            .unwrap();
        let (client, _) = app.client.signed_in(&username, PASSWORD).await.unwrap();
        callers.push(Caller {
            name,
            role,
            tenant: 'a',
            subtree,
            client,
        });
    }
    assert_eq!(
        callers
            .iter()
            .map(|c| c.role.rank())
            .collect::<BTreeSet<_>>()
            .len(),
        Role::ALL.len(),
        "every role is walked"
    );

    for c in &callers {
        let expected: BTreeSet<(String, Uuid)> = recs
            .iter()
            .filter(|r| c.sees(r))
            .map(|r| (r.collection.to_owned(), r.id))
            .collect();

        // Pull.
        let mut replica = paicha_tests::Replica::default();
        let pulled = replica.sync(&c.client).await;
        if c.role == Role::SystemAdmin {
            assert_eq!(
                pulled.unwrap_err().status(),
                Some(StatusCode::FORBIDDEN),
                "{}",
                c.name
            );
        } else {
            pulled.unwrap();
            let got: BTreeSet<(String, Uuid)> = replica.records.keys().cloned().collect();
            assert_eq!(got, expected, "pull of {}", c.name);

            // Checksums count the same records.
            let sums = c.client.checksum(None).await.unwrap();
            let counted: BTreeMap<String, u64> = sums
                .collections
                .iter()
                .filter(|(_, s)| s.count > 0)
                .map(|(k, s)| (k.clone(), s.count))
                .collect();
            let mut want: BTreeMap<String, u64> = BTreeMap::new();
            for (collection, _) in &expected {
                *want.entry(collection.clone()).or_default() += 1;
            }
            assert_eq!(counted, want, "checksums of {}", c.name);
        }

        // Conflicts: a conflict is seen where its record is seen.
        let listed = c.client.conflicts(None, false).await;
        if c.reviews() {
            let got: BTreeSet<Uuid> = listed
                .unwrap()
                .conflicts
                .iter()
                .map(|x| x.record_id)
                .collect();
            let want: BTreeSet<Uuid> = recs
                .iter()
                .filter(|r| conflict_of.contains_key(&r.id) && c.sees(r))
                .map(|r| r.id)
                .collect();
            assert_eq!(got, want, "conflicts of {}", c.name);
            for r in recs.iter().filter(|r| conflict_of.contains_key(&r.id)) {
                let one = c.client.conflicts(Some((r.collection, r.id)), false).await;
                assert_eq!(
                    one.unwrap().conflicts.len(),
                    usize::from(c.sees(r)),
                    "conflicts of one record for {}",
                    c.name
                );
            }
        } else {
            assert_eq!(
                status_of(&listed.unwrap_err()),
                Some(StatusCode::FORBIDDEN),
                "{}",
                c.name
            );
        }

        // Audit, record by record.
        for r in &recs {
            let audit = c.client.audit(r.collection, r.id).await;
            match (c.reviews(), c.sees(r)) {
                (true, true) => assert!(
                    !audit.unwrap().entries.is_empty(),
                    "audit of {} {} for {}",
                    r.collection,
                    r.id,
                    c.name
                ),
                (true, false) => assert_eq!(
                    status_of(&audit.unwrap_err()),
                    Some(StatusCode::NOT_FOUND),
                    "audit of {} for {}",
                    r.collection,
                    c.name
                ),
                (false, _) => assert_eq!(
                    status_of(&audit.unwrap_err()),
                    Some(StatusCode::FORBIDDEN),
                    "audit for {}",
                    c.name
                ),
            }
        }

        // Blobs: readable exactly by those who see a record referencing them and read images
        // (docs/protocol.md §3.7).
        for r in recs.iter().filter(|r| r.blob.is_some()) {
            let hash = r.blob.as_deref().unwrap_or_default();
            let got = c.client.get_blob(hash).await;
            if c.sees(r) && paicha_domain::privacy::sees_images(c.role) {
                assert!(got.is_ok(), "blob of {} for {}: {got:?}", r.id, c.name);
            } else {
                let status = got.unwrap_err().status();
                assert!(
                    matches!(status, Some(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)),
                    "blob of {} for {}: {status:?}",
                    r.id,
                    c.name
                );
            }
        }

        // Acting on a conflict: a reviewer who does not see it gets 404 like for no conflict.
        if c.reviews() {
            for r in recs.iter().filter(|r| !c.sees(r)) {
                if let Some(conflict) = conflict_of.get(&r.id) {
                    let err = c.client.resolve_conflict(*conflict).await.unwrap_err();
                    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{}", c.name);
                }
            }
        }
    }

    // The branch a transfer is addressed to resolves the conflict on it.
    t.secretary1
        .resolve_conflict(conflict_of[&transfer])
        .await
        .unwrap();
    assert!(
        t.secretary1
            .conflicts(Some(("transfers", transfer)), true)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
}
