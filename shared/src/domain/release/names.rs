//! Lambda's naming rules for functions, aliases, versions, and shiftback's for release ids.

use super::*;

pub(super) fn valid_release_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A function as an operator may name it: its name, a partial ARN (`ACCOUNT:function:NAME`)
/// or a full ARN, without a qualifier (the alias is named separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionRef<'a> {
    /// The bare name: what locks, guards and history are keyed by, however it was written.
    pub name: &'a str,
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
}

/// Reads a function reference by Lambda's naming rules, or None when it breaks them.
pub fn function_ref(name: &str) -> Option<FunctionRef<'_>> {
    let (bare, region, account) = match crate::domain::arn::Arn::parse(name) {
        Some(arn) if arn.service == "lambda" => {
            let bare = arn.resource.strip_prefix("function:")?;
            (bare, Some(arn.region), Some(arn.account))
        }
        Some(_) => return None,
        // A partial ARN (`ACCOUNT:function:NAME`) or the bare name.
        None => match name.split(':').collect::<Vec<_>>().as_slice() {
            [bare] => (*bare, None, None),
            [account, "function", bare] => (*bare, None, Some(*account)),
            _ => return None,
        },
    };
    if bare.contains(':') {
        // A qualified ARN (`...:function:NAME:VERSION`) names a version, not the function.
        return None;
    }
    let valid = name.len() <= 140
        && !bare.is_empty()
        && bare.len() <= 64
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then_some(FunctionRef {
        name: bare,
        region: region.filter(|r| !r.is_empty()),
        account: account.filter(|a| !a.is_empty()),
    })
}

fn valid_function_name(name: &str) -> bool {
    function_ref(name).is_some()
}

/// The one spelling of a function: its bare name. Two releases on one alias under two
/// spellings (name and ARN) must meet at the same lock.
pub fn canonical_function(name: &str) -> Result<String, SpecError> {
    function_ref(name)
        .map(|f| f.name.to_string())
        .ok_or_else(|| SpecError::FunctionName(name.chars().take(160).collect()))
}

pub fn valid_alias_name(alias: &str) -> bool {
    !alias.is_empty()
        && alias.len() <= 128
        && !alias.chars().all(|c| c.is_ascii_digit())
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 10
        && version.chars().all(|c| c.is_ascii_digit())
        && version != "0"
}

/// A release id as an operator typed it, checked before it reaches any AWS call.
pub fn check_release_id(id: &str) -> Result<(), SpecError> {
    if valid_release_id(id) {
        Ok(())
    } else {
        Err(SpecError::ReleaseId(id.chars().take(80).collect()))
    }
}

/// A function name or ARN as an operator typed it.
pub fn check_function_name(name: &str) -> Result<(), SpecError> {
    if valid_function_name(name) {
        Ok(())
    } else {
        Err(SpecError::FunctionName(name.chars().take(160).collect()))
    }
}

/// A published version number (`role` says which, in the error).
pub fn check_version(role: &'static str, version: &str) -> Result<(), SpecError> {
    if valid_version(version) {
        Ok(())
    } else {
        Err(SpecError::Version {
            role,
            value: version.chars().take(40).collect(),
        })
    }
}

/// The names a request carries, checked before they reach any AWS call (where an oversized
/// or malformed name would fail less clearly, or not at all).
pub fn check_names(function: &str, alias: &str, release_id: Option<&str>) -> Result<(), SpecError> {
    if let Some(id) = release_id {
        if !valid_release_id(id) {
            return Err(SpecError::ReleaseId(id.chars().take(80).collect()));
        }
    }
    if !valid_function_name(function) {
        return Err(SpecError::FunctionName(
            function.chars().take(160).collect(),
        ));
    }
    if !valid_alias_name(alias) {
        return Err(SpecError::AliasName(alias.chars().take(160).collect()));
    }
    Ok(())
}
