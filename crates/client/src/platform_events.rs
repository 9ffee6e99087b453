//! The admin API's platform events (Setup > Platform Events): define custom platform events and
//! their custom fields. `/admin/v1/platform-events[/{name}[/fields[/{field}]]]`.

use byoc_proto::admin::{CustomFieldInput, PlatformEventInput, Saved};
use byoc_proto::setup::PlatformEventDefinition;
use reqwest::Method;

use crate::{AdminClient, ClientError};

impl AdminClient {
    /// `GET /admin/v1/platform-events`
    pub async fn platform_events(&self) -> Result<Vec<PlatformEventDefinition>, ClientError> {
        self.get(&["platform-events"], &[]).await
    }

    /// `GET /admin/v1/platform-events/{name}`
    pub async fn platform_event(&self, name: &str) -> Result<PlatformEventDefinition, ClientError> {
        self.get(&["platform-events", name], &[]).await
    }

    /// `POST /admin/v1/platform-events`
    pub async fn create_platform_event(
        &self,
        event: &PlatformEventInput,
    ) -> Result<Saved<PlatformEventDefinition>, ClientError> {
        self.send(Method::POST, &["platform-events"], Some(event))
            .await
    }

    /// `PATCH /admin/v1/platform-events/{name}`
    pub async fn update_platform_event(
        &self,
        name: &str,
        change: &PlatformEventInput,
    ) -> Result<Saved<PlatformEventDefinition>, ClientError> {
        self.send(Method::PATCH, &["platform-events", name], Some(change))
            .await
    }

    /// `DELETE /admin/v1/platform-events/{name}`
    pub async fn delete_platform_event(&self, name: &str) -> Result<(), ClientError> {
        self.send_no_content(Method::DELETE, &["platform-events", name])
            .await
    }

    /// `POST /admin/v1/platform-events/{name}/fields`
    pub async fn add_platform_event_field(
        &self,
        name: &str,
        field: &CustomFieldInput,
    ) -> Result<Saved<PlatformEventDefinition>, ClientError> {
        self.send(
            Method::POST,
            &["platform-events", name, "fields"],
            Some(field),
        )
        .await
    }

    /// `PATCH /admin/v1/platform-events/{name}/fields/{field}`
    pub async fn update_platform_event_field(
        &self,
        name: &str,
        field: &str,
        change: &CustomFieldInput,
    ) -> Result<Saved<PlatformEventDefinition>, ClientError> {
        self.send(
            Method::PATCH,
            &["platform-events", name, "fields", field],
            Some(change),
        )
        .await
    }

    /// `DELETE /admin/v1/platform-events/{name}/fields/{field}`: answers the changed event.
    pub async fn delete_platform_event_field(
        &self,
        name: &str,
        field: &str,
    ) -> Result<Saved<PlatformEventDefinition>, ClientError> {
        self.send::<(), _>(
            Method::DELETE,
            &["platform-events", name, "fields", field],
            None,
        )
        .await
    }
}
