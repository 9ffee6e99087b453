//! The org's local CA, kept in the database (`local_ca`, migration 0012) so that every instance
//! sharing it presents TLS certificates from one CA (docs/scale-out.md).
//!
//! Like [`crate::oauth`], the SQL is written once in [`impl_pki_repository!`] and expanded per
//! backend.

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{PostgresStore, SqliteStore};
use crate::StoreError;

/// The stored CA: its certificate and private key (PEM) and when it was stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCa {
    pub certificate_pem: String,
    pub private_key_pem: String,
    pub created_at: i64,
}

impl std::fmt::Debug for StoredCa {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCa")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait PkiRepository: Send + Sync {
    /// The stored local CA, if any.
    async fn local_ca(&self) -> Result<Option<StoredCa>, StoreError>;

    /// Store `candidate` unless a CA is stored already, then return the stored one: every
    /// instance starting at once gets the same CA, whoever inserted first.
    async fn local_ca_or_insert(&self, candidate: &StoredCa) -> Result<StoredCa, StoreError>;
}

macro_rules! impl_pki_repository {
    ($store:ty) => {
        #[async_trait]
        impl PkiRepository for $store {
            async fn local_ca(&self) -> Result<Option<StoredCa>, StoreError> {
                let row = sqlx::query(
                    "SELECT certificate_pem, private_key_pem, created_at FROM local_ca WHERE id = 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(StoredCa {
                        certificate_pem: row.try_get("certificate_pem")?,
                        private_key_pem: row.try_get("private_key_pem")?,
                        created_at: row.try_get("created_at")?,
                    })
                })
                .transpose()
            }

            async fn local_ca_or_insert(&self, candidate: &StoredCa) -> Result<StoredCa, StoreError> {
                sqlx::query(
                    "INSERT INTO local_ca (id, certificate_pem, private_key_pem, created_at) \
                     VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&candidate.certificate_pem)
                .bind(&candidate.private_key_pem)
                .bind(candidate.created_at)
                .execute(&self.pool)
                .await?;
                // The row exists now (ours or the winner's); rows are never deleted by byoc.
                self.local_ca().await?.ok_or_else(|| {
                    StoreError::Database(sqlx::Error::RowNotFound)
                })
            }
        }
    };
}

impl_pki_repository!(SqliteStore);
impl_pki_repository!(PostgresStore);
