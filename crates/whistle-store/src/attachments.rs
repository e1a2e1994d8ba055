//! Attachments of orders (photos from the citizen, the operator, a handler), written once for
//! both backends over the executor. Content-addressed within an order: the same bytes sent twice
//! are one attachment. A per-order cap is checked in the transaction that adds, so two uploads
//! at once cannot pass it together. Callers check what may be stored (type, size) and who may
//! read it (the order's scope): the store keeps bytes, never judges them.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use whistle_core::ids::OrderId;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::db::{params, Db, Row};
use crate::types::StoreError;

/// An attachment's description (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// The sha256 of the bytes, lowercase hex: the attachment's name within its order.
    pub sha256: String,
    /// The file name as sent (shown; never used as a path).
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub added_at: Timestamp,
    /// Who sent it: a login, `citizen-web`, a token's name.
    pub added_by: String,
}

/// A file to add to an order.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub added_by: String,
    pub at: Timestamp,
}

/// What adding an attachment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    New(Attachment),
    /// The order already had these bytes.
    Existing(Attachment),
    /// The order has `max` attachments already.
    Full {
        max: u32,
    },
}

fn attachment(row: &Row) -> Result<Attachment, StoreError> {
    Ok(Attachment {
        sha256: row.text(0)?,
        name: row.text(1)?,
        content_type: row.text(2)?,
        size: row.int(3)?,
        added_at: from_millis(row.int(4)?),
        added_by: row.text(5)?,
    })
}

const COLUMNS: &str = "sha256, name, content_type, size, added_at, added_by";

/// The sha256 of bytes, as attachments are named.
pub fn digest(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Attachments, written once for both backends.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Adds `data` to an order (at most `max` attachments per order), all or nothing.
    async fn add_attachment(
        &self,
        order: OrderId,
        new: NewAttachment,
        max: u32,
    ) -> Result<Added, StoreError>;

    /// An order's attachments, oldest first.
    async fn attachments(&self, order: OrderId) -> Result<Vec<Attachment>, StoreError>;

    /// One attachment with its bytes.
    async fn attachment(
        &self,
        order: OrderId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>, StoreError>;
}

#[async_trait]
impl<T: Db> AttachmentStore for T {
    async fn add_attachment(
        &self,
        order: OrderId,
        new: NewAttachment,
        max: u32,
    ) -> Result<Added, StoreError> {
        let NewAttachment {
            name,
            content_type,
            data,
            added_by,
            at,
        } = new;
        let meta = Attachment {
            sha256: digest(&data),
            name,
            content_type,
            size: data.len() as i64,
            added_at: at,
            added_by,
        };
        crate::db::transact(self, move |tx: &mut dyn crate::db::Tx| {
            Box::pin(async move {
                let existing = tx
                    .query(
                        &format!(
                            "SELECT {COLUMNS} FROM attachments WHERE order_id = $1 AND sha256 = $2"
                        ),
                        params![order.0, meta.sha256.as_str()],
                    )
                    .await?;
                if let Some(row) = existing.first() {
                    return Ok(Added::Existing(attachment(row)?));
                }
                let count = tx
                    .query(
                        "SELECT COUNT(*) FROM attachments WHERE order_id = $1",
                        params![order.0],
                    )
                    .await?;
                let count = count.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
                if count >= i64::from(max) {
                    return Ok(Added::Full { max });
                }
                tx.execute(
                    "INSERT INTO attachments (order_id, sha256, name, content_type, size, added_at, added_by, data) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    params![
                        order.0,
                        meta.sha256.as_str(),
                        meta.name.as_str(),
                        meta.content_type.as_str(),
                        meta.size,
                        to_millis(meta.added_at),
                        meta.added_by.as_str(),
                        data
                    ],
                )
                .await?;
                Ok(Added::New(meta))
            })
        })
        .await
    }

    async fn attachments(&self, order: OrderId) -> Result<Vec<Attachment>, StoreError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM attachments WHERE order_id = $1 ORDER BY added_at, sha256"
            ),
            params![order.0],
        )
        .await?
        .iter()
        .map(attachment)
        .collect()
    }

    async fn attachment(
        &self,
        order: OrderId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        let row = self
            .query_opt(
                &format!(
                    "SELECT {COLUMNS}, data FROM attachments WHERE order_id = $1 AND sha256 = $2"
                ),
                params![order.0, sha256],
            )
            .await?;
        row.map(|mut row| Ok((attachment(&row)?, row.take_bytes(6)?)))
            .transpose()
    }
}
