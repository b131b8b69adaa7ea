//! Where a version's code is, as Lambda's `GetFunction` says: in Lambda's own storage, or in
//! the team's bucket (self-managed S3 code storage, `S3ObjectStorageMode: REFERENCE`, whose
//! `ResolvedS3Object` names it), and whether Lambda can retrieve it (`Code.Error`). Code kept
//! by reference does not count against the account's code storage quota, and is gone for
//! good once the team's object is.

use aws_sdk_lambda::Client;

use super::CodeLocation;
use crate::error::{AwsError, Error, Result};

pub(crate) async fn code_location(
    client: &Client,
    function: &str,
    version: &str,
) -> Result<CodeLocation> {
    let out = client
        .get_function()
        .function_name(function)
        .qualifier(version)
        .send()
        .await
        .map_err(|e| Error::Aws(AwsError::from_sdk("GetFunction", e)))?;
    let code = out.code();
    let reference = code.and_then(|c| c.resolved_s3_object()).map(|o| {
        format!(
            "s3://{}/{} (object version {})",
            o.s3_bucket().unwrap_or_default(),
            o.s3_key().unwrap_or_default(),
            o.s3_object_version().unwrap_or("unknown")
        )
    });
    let unretrievable = code.and_then(|c| c.error()).map(|e| {
        format!(
            "{}: {}",
            e.error_code().unwrap_or("Error"),
            e.message().unwrap_or("Lambda could not retrieve the code")
        )
    });
    Ok(CodeLocation {
        reference,
        unretrievable,
    })
}
