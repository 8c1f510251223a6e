//! A sign-in of one of the soak's users on one device: signed in with the password, its access
//! token refreshed (the refresh token rotated) every few minutes, long before its 15 minutes
//! run out, and now and then signed in again with the password, the previous sign-in then
//! signed out.

use std::time::{Duration, Instant};

use paicha_client::ClientError;
use paicha_domain::api::v1::TokenResponse;

use super::Rng;
use super::fleet::{Fleet, Route};

pub struct Session {
    pub username: String,
    pub device_id: String,
    pub route: Route,
    pub access: String,
    refresh: String,
    refreshed: Instant,
    refresh_after: Duration,
}

impl Session {
    /// Signs `username` in with the password through `route`, as `device_id`.
    pub async fn sign_in(
        fleet: &Fleet,
        username: &str,
        device_id: &str,
        route: Route,
        rng: &mut Rng,
    ) -> Result<Self, ClientError> {
        let tokens = login(fleet, username, device_id, route).await?;
        Ok(Self {
            username: username.to_owned(),
            device_id: device_id.to_owned(),
            route,
            access: tokens.access_token,
            refresh: tokens.refresh_token,
            refreshed: Instant::now(),
            refresh_after: next_refresh(rng),
        })
    }

    pub fn token(&self) -> Option<&str> {
        Some(&self.access)
    }

    /// Refreshes the tokens when due (every 4–6 minutes). A refresh whose answer was cut is
    /// sent again with the same refresh token: within the 30 s grace window the server hands
    /// out the same successor.
    pub async fn keep_fresh(&mut self, fleet: &Fleet, rng: &mut Rng) -> Result<(), ClientError> {
        if self.refreshed.elapsed() < self.refresh_after {
            return Ok(());
        }
        let refresh = self.refresh.clone();
        let tokens: TokenResponse = fleet
            .call("token refresh", self.route, None, |conn| {
                let refresh = refresh.clone();
                async move { conn.client.refresh(&refresh).await }
            })
            .await?;
        self.take(tokens, rng);
        Ok(())
    }

    /// Signs in again with the password, then signs the previous sign-in out.
    pub async fn sign_in_again(&mut self, fleet: &Fleet, rng: &mut Rng) -> Result<(), ClientError> {
        let tokens = login(fleet, &self.username, &self.device_id, self.route).await?;
        let previous = std::mem::replace(&mut self.refresh, tokens.refresh_token.clone());
        self.take(tokens, rng);
        self.sign_out_token(fleet, previous).await
    }

    /// Signs this sign-in out.
    pub async fn sign_out(self, fleet: &Fleet) -> Result<(), ClientError> {
        let refresh = self.refresh.clone();
        self.sign_out_token(fleet, refresh).await
    }

    async fn sign_out_token(&self, fleet: &Fleet, refresh: String) -> Result<(), ClientError> {
        fleet
            .call("sign-out", self.route, self.token(), |conn| {
                let refresh = refresh.clone();
                async move { conn.client.logout(Some(&refresh)).await }
            })
            .await
    }

    fn take(&mut self, tokens: TokenResponse, rng: &mut Rng) {
        self.access = tokens.access_token;
        self.refresh = tokens.refresh_token;
        self.refreshed = Instant::now();
        self.refresh_after = next_refresh(rng);
    }
}

async fn login(
    fleet: &Fleet,
    username: &str,
    device_id: &str,
    route: Route,
) -> Result<TokenResponse, ClientError> {
    fleet
        .call("sign-in (password)", route, None, |conn| async move {
            conn.client
                .login(username, paicha_tests::PASSWORD, Some(device_id))
                .await
        })
        .await
}

fn next_refresh(rng: &mut Rng) -> Duration {
    Duration::from_millis(rng.between(240_000, 360_000))
}
