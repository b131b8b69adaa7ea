//! Which stack may release a function through the provider.
//!
//! The provider is exported to the whole account and acts with its own role, and CloudFormation
//! does not say who deployed: without a check, any stack could move another team's alias (a
//! confused deputy). CloudFormation tags every function it creates with its stack's id, so a
//! request is honoured for a function that carries the requesting stack's id, or one whose
//! owner names the requesting stack in [`RELEASE_STACKS_TAG`].

use std::collections::BTreeMap;

use crate::error::Error;

/// The tag CloudFormation puts on the resources it creates.
pub const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";
/// A function's owner lets other stacks release it: their names, separated by spaces.
pub const RELEASE_STACKS_TAG: &str = "shiftback:release-stacks";

/// Ok when the stack `stack_id` may release `function` (whose tags are `tags`); the refusal,
/// saying why and what the owner can do, otherwise.
pub fn may_release(
    function: &str,
    tags: &BTreeMap<String, String>,
    stack_id: &str,
) -> Result<(), Error> {
    if tags
        .get(STACK_ID_TAG)
        .is_some_and(|owner| owner == stack_id)
    {
        return Ok(());
    }
    let stack_name = super::stack_name(stack_id);
    let allowed = tags
        .get(RELEASE_STACKS_TAG)
        .is_some_and(|names| names.split_whitespace().any(|n| n == stack_name));
    if allowed {
        return Ok(());
    }
    let owner = match tags.get(STACK_ID_TAG) {
        Some(owner) => format!("it belongs to stack {}", super::stack_name(owner)),
        None => "it was not created by CloudFormation".to_string(),
    };
    Err(Error::BadRequest(format!(
        "stack {stack_name} may not release {function}: {owner}, and its tag {RELEASE_STACKS_TAG} does not name {stack_name}. Declare the release in the function's own stack, or have its owner tag it {RELEASE_STACKS_TAG}={stack_name}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str =
        "arn:aws:cloudformation:us-east-1:123456789012:stack/orders-app/16580499-7622-4a9c";
    const THEIRS: &str =
        "arn:aws:cloudformation:us-east-1:123456789012:stack/payments/0000aaaa-1111-2222";

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_the_owning_stack_or_one_its_owner_names_may_release() {
        assert!(may_release("orders", &tags(&[(STACK_ID_TAG, OURS)]), OURS).is_ok());
        // Same name, another stack (deleted and made again): a different id.
        let other_id = OURS.replace("16580499", "99999999");
        assert!(may_release("orders", &tags(&[(STACK_ID_TAG, &other_id)]), OURS).is_err());
        let refused = may_release("payments", &tags(&[(STACK_ID_TAG, THEIRS)]), OURS)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("belongs to stack payments"), "{refused}");
        assert!(refused.contains(RELEASE_STACKS_TAG), "{refused}");
        let granted = tags(&[
            (STACK_ID_TAG, THEIRS),
            (RELEASE_STACKS_TAG, "ci-pipeline orders-app"),
        ]);
        assert!(may_release("payments", &granted, OURS).is_ok());
        // A name that merely contains ours is not ours.
        let near = tags(&[(STACK_ID_TAG, THEIRS), (RELEASE_STACKS_TAG, "orders-app-2")]);
        assert!(may_release("payments", &near, OURS).is_err());
        let untagged = may_release("hand-made", &BTreeMap::new(), OURS)
            .unwrap_err()
            .to_string();
        assert!(
            untagged.contains("not created by CloudFormation"),
            "{untagged}"
        );
    }
}
