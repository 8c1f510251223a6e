//! Tenants built through the API, as the platform administrator and then the committee's own
//! administrator would build them. Every user made here has the password [`PASSWORD`].

use anyhow::Context as _;
use paicha_client::Client;
use paicha_domain::api::v1::{CreateOrgUnit, CreateUser, OrgUnit};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use uuid::Uuid;

use crate::PASSWORD;

/// Signs `username` in with `password`; when the server wants that password changed first (the
/// bootstrap administrator's first sign-in), changes it to `new_password`. Returns the session
/// and whether the change was asked for.
pub async fn first_sign_in(
    client: &Client,
    username: &str,
    password: &str,
    new_password: &str,
) -> anyhow::Result<(Client, bool)> {
    let (signed_in, tokens) = client
        .signed_in(username, password)
        .await
        .with_context(|| format!("sign in {username}"))?;
    if tokens.password_change_required {
        signed_in
            .change_password(password, new_password)
            .await
            .with_context(|| format!("{username} changes its password"))?;
    }
    Ok((signed_in, tokens.password_change_required))
}

/// The request that creates a unit.
pub fn unit(parent: Option<Uuid>, kind: OrgUnitKind, name: &str) -> CreateOrgUnit {
    CreateOrgUnit {
        id: None,
        parent_id: parent,
        kind,
        name: name.to_owned(),
        code: None,
    }
}

/// The request that creates a user with the fixtures' password.
pub fn new_user(username: &str, role: Role, unit: Option<Uuid>) -> CreateUser {
    CreateUser {
        username: username.to_owned(),
        password: PASSWORD.to_owned(),
        org_unit_id: unit,
        role,
        display_name: None,
    }
}

/// A committee, the root of a tenant, with its `committee_admin` signed in; it adds the units
/// and users below it.
pub struct Committee {
    pub unit: OrgUnit,
    /// The `committee_admin`, signed in.
    pub admin: Client,
    pub admin_username: String,
    /// Not signed in: for signing in the users made here.
    base: Client,
}

impl Committee {
    /// Has `platform_admin` create a committee named `name` (with `code`, if given) and its
    /// administrator `admin_username`, who signs in through `base`.
    pub async fn create(
        base: &Client,
        platform_admin: &Client,
        name: &str,
        code: Option<&str>,
        admin_username: &str,
    ) -> anyhow::Result<Self> {
        let mut request = unit(None, OrgUnitKind::Committee, name);
        request.code = code.map(str::to_owned);
        let committee = platform_admin
            .create_org_unit(&request)
            .await
            .with_context(|| format!("create the committee {name}"))?;
        platform_admin
            .create_user(&new_user(
                admin_username,
                Role::CommitteeAdmin,
                Some(committee.id),
            ))
            .await
            .with_context(|| format!("create {admin_username}"))?;
        let (admin, _) = base
            .signed_in(admin_username, PASSWORD)
            .await
            .with_context(|| format!("sign in {admin_username}"))?;
        Ok(Self {
            unit: committee,
            admin,
            admin_username: admin_username.to_owned(),
            base: base.clone(),
        })
    }

    /// Adds a unit of `kind` under `parent` (with `code`, if given).
    pub async fn unit(
        &self,
        parent: Uuid,
        kind: OrgUnitKind,
        name: &str,
        code: Option<&str>,
    ) -> anyhow::Result<OrgUnit> {
        let mut request = unit(Some(parent), kind, name);
        request.code = code.map(str::to_owned);
        self.admin
            .create_org_unit(&request)
            .await
            .with_context(|| format!("create the unit {name}"))
    }

    /// Adds a user with `role` at the unit `at`.
    pub async fn add_user(&self, username: &str, role: Role, at: Uuid) -> anyhow::Result<()> {
        self.admin
            .create_user(&new_user(username, role, Some(at)))
            .await
            .with_context(|| format!("create {username}"))?;
        Ok(())
    }

    /// Adds a user with `role` at the unit `at`, and returns it signed in.
    pub async fn user(&self, username: &str, role: Role, at: Uuid) -> anyhow::Result<Client> {
        self.add_user(username, role, at).await?;
        let (client, _) = self
            .base
            .signed_in(username, PASSWORD)
            .await
            .with_context(|| format!("sign in {username}"))?;
        Ok(client)
    }
}

/// The smallest tenant, on a fresh server: the bootstrap administrator `admin_user` signs in for
/// the first time with `bootstrap_password` (and must set `new_password`), then creates the
/// committee `党工委` (code `C1`) with its administrator `cadmin`, who creates a branch
/// `branch_name` (code `B1`) and its secretary `sec`. Returns the committee and the branch.
pub async fn committee_with_branch(
    base: &Client,
    (admin_user, bootstrap_password, new_password): (&str, &str, &str),
    branch_name: &str,
) -> anyhow::Result<(Committee, OrgUnit)> {
    let (admin, asked) = first_sign_in(base, admin_user, bootstrap_password, new_password).await?;
    anyhow::ensure!(asked, "{admin_user} was not asked to change its password");
    let committee = Committee::create(base, &admin, "党工委", Some("C1"), "cadmin").await?;
    let branch = committee
        .unit(
            committee.unit.id,
            OrgUnitKind::Branch,
            branch_name,
            Some("B1"),
        )
        .await?;
    committee
        .add_user("sec", Role::BranchSecretary, branch.id)
        .await?;
    Ok((committee, branch))
}

/// The tenant most tests use: committee → street → work area → two branches, with a signed-in
/// user at each level.
pub struct Tenant {
    pub committee: OrgUnit,
    pub street: OrgUnit,
    pub work_area: OrgUnit,
    pub branch1: OrgUnit,
    pub branch2: OrgUnit,
    /// `committee_admin` at the committee.
    pub admin: Client,
    /// `street_staff` at the street.
    pub street_staff: Client,
    /// `branch_secretary` at branch 1.
    pub secretary1: Client,
    /// `branch_secretary` at branch 2.
    pub secretary2: Client,
    pub prefix: String,
}

impl Tenant {
    /// Builds the tenant named after `prefix`: `platform_admin` creates the committee and its
    /// administrator `{prefix}-admin`, who creates the rest.
    pub async fn build(
        base: &Client,
        platform_admin: &Client,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        use OrgUnitKind::{Branch, Street, WorkArea};
        let c = Committee::create(
            base,
            platform_admin,
            &format!("{prefix}党工委"),
            None,
            &format!("{prefix}-admin"),
        )
        .await?;
        let committee = c.unit.id;
        let street = c
            .unit(committee, Street, &format!("{prefix}街道"), None)
            .await?;
        let work_area = c
            .unit(street.id, WorkArea, &format!("{prefix}第一工作区"), None)
            .await?;
        let branch1 = c
            .unit(work_area.id, Branch, &format!("{prefix}第一党支部"), None)
            .await?;
        let branch2 = c
            .unit(work_area.id, Branch, &format!("{prefix}第二党支部"), None)
            .await?;
        let street_staff = c
            .user(&format!("{prefix}-street"), Role::StreetStaff, street.id)
            .await?;
        let secretary1 = c
            .user(&format!("{prefix}-sec1"), Role::BranchSecretary, branch1.id)
            .await?;
        let secretary2 = c
            .user(&format!("{prefix}-sec2"), Role::BranchSecretary, branch2.id)
            .await?;
        Ok(Self {
            committee: c.unit,
            street,
            work_area,
            branch1,
            branch2,
            admin: c.admin,
            street_staff,
            secretary1,
            secretary2,
            prefix: prefix.to_owned(),
        })
    }
}
