//! Which account a new membership belongs to, when the person's email may already have an
//! account through another organization (`docs/invitations.md`, "Which account joins").
//!
//! One account (`usr_…`) can hold memberships in several organizations, so whoever links
//! an account to an organization hands that organization's admins the account's name,
//! keys and audit trail there. An organization's own word (its admin's invitation, its
//! identity provider's SCIM push) proves nothing about an account another organization
//! made: only the person who controls that account, or its mailbox, may link it. Every
//! door that creates a member from an email (invitations now, SCIM later) decides here.

use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;

/// What the request that creates the membership proves about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityProof {
    /// The request is authenticated by a key of this account: its holder controls it.
    Account(UserId),
    /// A secret that went only to the mailbox (an invitation link the inviter never saw)
    /// was presented: its holder controls the mailbox, as with a magic link.
    Mailbox,
    /// Nothing about any existing account: a token the inviter could see, or an
    /// organization's identity provider asserting an email.
    OrganizationsWordOnly,
}

/// An account that holds the email through a membership somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWithEmail {
    pub user_id: UserId,
    /// It already has a membership (in any status) in the organization being joined.
    pub member_here: bool,
}

/// The outcome: join an existing account, or make a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChoice {
    Join(UserId),
    New,
}

/// Decides the account of a new membership in one organization. `accounts` are the
/// accounts that hold the email, oldest first.
///
/// - Proof of the account joins that account, and only if it holds the email (a key of
///   one person does not claim another person's invitation) and is not a member here yet.
/// - Proof of the mailbox joins the oldest account with that email that is not a member
///   here yet (a deleted membership keeps its history, so the person gets a new one).
/// - Without proof, a new account, always; the answer is the same whether or not the email
///   has an account elsewhere, so the inviter learns nothing of other organizations.
pub fn account_for_new_membership(proof: &IdentityProof, accounts: &[AccountWithEmail]) -> ApiResult<AccountChoice> {
    match proof {
        IdentityProof::Account(user) => match accounts.iter().find(|account| &account.user_id == user) {
            Some(account) if account.member_here => Err(ApiError::conflict(
                "your account is already a member of this organization",
            )),
            Some(_) => Ok(AccountChoice::Join(user.clone())),
            None => Err(ApiError::forbidden_action(
                "this invitation is for another email address than your account's; \
                 accept it without an API key, or from the account it was sent to",
            )),
        },
        IdentityProof::Mailbox => Ok(accounts
            .iter()
            .find(|account| !account.member_here)
            .map_or(AccountChoice::New, |account| {
                AccountChoice::Join(account.user_id.clone())
            })),
        IdentityProof::OrganizationsWordOnly => Ok(AccountChoice::New),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(member_here: bool) -> AccountWithEmail {
        AccountWithEmail {
            user_id: UserId::new(),
            member_here,
        }
    }

    #[test]
    fn an_organizations_word_never_joins_an_existing_account() {
        let accounts = [account(false), account(false)];
        for accounts in [&accounts[..], &[]] {
            assert_eq!(
                account_for_new_membership(&IdentityProof::OrganizationsWordOnly, accounts).unwrap(),
                AccountChoice::New
            );
        }
    }

    #[test]
    fn control_of_the_mailbox_joins_the_oldest_account_not_yet_a_member_here() {
        let accounts = [account(true), account(false), account(false)];
        assert_eq!(
            account_for_new_membership(&IdentityProof::Mailbox, &accounts).unwrap(),
            AccountChoice::Join(accounts[1].user_id.clone())
        );
        assert_eq!(
            account_for_new_membership(&IdentityProof::Mailbox, &[account(true)]).unwrap(),
            AccountChoice::New
        );
        assert_eq!(
            account_for_new_membership(&IdentityProof::Mailbox, &[]).unwrap(),
            AccountChoice::New
        );
    }

    #[test]
    fn control_of_an_account_joins_it_only_when_it_holds_the_email() {
        let accounts = [account(false), account(true)];
        let own = IdentityProof::Account(accounts[0].user_id.clone());
        assert_eq!(
            account_for_new_membership(&own, &accounts).unwrap(),
            AccountChoice::Join(accounts[0].user_id.clone())
        );
        let already_here = IdentityProof::Account(accounts[1].user_id.clone());
        assert_eq!(
            account_for_new_membership(&already_here, &accounts)
                .unwrap_err()
                .status(),
            409
        );
        let stranger = IdentityProof::Account(UserId::new());
        assert_eq!(
            account_for_new_membership(&stranger, &accounts).unwrap_err().status(),
            403
        );
    }
}
