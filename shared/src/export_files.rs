//! Export files in S3: an export too large for one Lambda response (6 MB) is written to the
//! exports bucket as a multipart upload, part by part as it is encoded, and handed to the
//! caller as a presigned link. The other I/O beside the store, as `mail.rs` is.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::error::{ApiError, ApiResult};

/// S3 takes parts of 5 MiB at least (but the last); parts this large keep the count low.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// A presigned link is good for this long; the bucket deletes the file after a day.
pub const LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The exports bucket and its client; built once per cold start.
#[derive(Clone, Debug)]
pub struct ExportBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// What the file is, as S3 stores it and serves it back.
pub struct FileHeaders {
    pub content_type: &'static str,
    /// `Some("gzip")` when the bytes are gzip, served for the client to decode.
    pub content_encoding: Option<&'static str>,
    pub file_name: String,
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        "the export could not be stored; retry in a moment",
        "S3",
        format!("{what}: {error}"),
    )
}

impl ExportBucket {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        ExportBucket {
            client,
            bucket: bucket.into(),
        }
    }

    /// Stores a whole file at `key`, part by part; a failure leaves no file.
    pub async fn put(&self, key: String, headers: FileHeaders, bytes: &[u8]) -> ApiResult<()> {
        let mut upload = self.start(key, headers).await?;
        for part in bytes.chunks(PART_BYTES) {
            if let Err(error) = upload.send_part(part.to_vec()).await {
                upload.abort().await;
                return Err(error);
            }
        }
        if bytes.is_empty() {
            upload.send_part(Vec::new()).await?;
        }
        upload.finish().await.map(|_link| ())
    }

    /// A presigned GET link to the file at `key`, good for `LINK_LIFETIME`.
    pub async fn link(&self, key: &str) -> ApiResult<String> {
        presigned_get(&self.client, &self.bucket, key).await
    }

    /// Starts a file at `key`.
    pub async fn start(&self, key: String, headers: FileHeaders) -> ApiResult<Upload<'_>> {
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(headers.content_type)
            .set_content_encoding(headers.content_encoding.map(str::to_string))
            .content_disposition(format!("attachment; filename=\"{}\"", headers.file_name))
            .send()
            .await
            .map_err(|error| unavailable("CreateMultipartUpload", aws_sdk_s3::error::DisplayErrorContext(error)))?;
        let upload_id = started
            .upload_id
            .ok_or_else(|| ApiError::internal("S3 returned no upload id"))?;
        Ok(Upload {
            bucket: self,
            key,
            upload_id,
            parts: Vec::new(),
        })
    }
}

async fn presigned_get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> ApiResult<String> {
    let config = PresigningConfig::expires_in(LINK_LIFETIME).map_err(ApiError::internal)?;
    let link = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|error| unavailable("presigning", aws_sdk_s3::error::DisplayErrorContext(error)))?;
    Ok(link.uri().to_string())
}

/// A file being written; `finish` makes it readable, `abort` discards it.
pub struct Upload<'a> {
    bucket: &'a ExportBucket,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
}

impl Upload<'_> {
    /// Sends the next part (at least `PART_BYTES`, except the last).
    pub async fn send_part(&mut self, bytes: Vec<u8>) -> ApiResult<()> {
        let number = i32::try_from(self.parts.len() + 1).map_err(ApiError::internal)?;
        let sent = self
            .bucket
            .client
            .upload_part()
            .bucket(&self.bucket.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| unavailable("UploadPart", aws_sdk_s3::error::DisplayErrorContext(error)))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag)
                .build(),
        );
        Ok(())
    }

    /// Completes the file and answers a presigned GET link to it.
    pub async fn finish(self) -> ApiResult<String> {
        let client = &self.bucket.client;
        let completed = client
            .complete_multipart_upload()
            .bucket(&self.bucket.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await;
        if let Err(error) = completed {
            let failure = unavailable("CompleteMultipartUpload", aws_sdk_s3::error::DisplayErrorContext(error));
            // No link is given, so no half-made file is kept either.
            self.abort().await;
            return Err(failure);
        }
        presigned_get(client, &self.bucket.bucket, &self.key).await
    }

    /// Discards the parts sent (best effort: the bucket's lifecycle rule aborts leftovers).
    pub async fn abort(self) {
        let aborted = self
            .bucket
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(error) = aborted {
            tracing::warn!(reason = %aws_sdk_s3::error::DisplayErrorContext(error), "S3 AbortMultipartUpload failed");
        }
    }
}
