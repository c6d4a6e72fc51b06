//! `summary.html`: the one page of an evidence package a person reads first, printed or on
//! screen. Self-contained (inline style, no script, no external asset) so that it shows
//! the same offline, years later. askama escapes every value: names are text, not markup.

use askama::Template;

use crate::model::evidence_tables::{DesignationRow, StandingRow};
use crate::model::training_status::TrainingVerdict;
use crate::time::{Date, Timestamp};

/// What the page says.
pub struct SummaryFacts<'a> {
    pub organization_name: &'a str,
    pub package_id: &'a str,
    pub as_of: Date,
    pub from: Date,
    pub to: Date,
    pub built_at: Timestamp,
    pub members_on_date: usize,
    /// The designation in force on `as_of`, if any.
    pub senior_manager: Option<&'a DesignationRow>,
    pub standings: &'a [StandingRow],
    pub sampled: usize,
    pub key_id: &'a str,
}

struct VerdictCount {
    label: &'static str,
    count: usize,
}

struct NotCurrent<'a> {
    name: &'a str,
    user_id: String,
    module: &'a str,
    verdict: &'static str,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence package {{ package_id }}</title>
<style>
body { font-family: Georgia, serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.2em 0.6em; text-align: left; }
code { font-family: monospace; }
@media print { body { margin: 1cm; } }
</style></head>
<body>
<h1>NERC CIP evidence package: {{ organization }}</h1>
<p>Populations as of <strong>{{ as_of }}</strong> (end of day, UTC); audit trail from {{ from }} to {{ to }}.<br>
Package <code>{{ package_id }}</code>, built {{ built_at }}.</p>

<h2>CIP Senior Manager on {{ as_of }} (CIP-003 R3)</h2>
{% if let Some(manager) = senior_manager %}
<p><strong>{{ manager.display_name.as_deref().unwrap_or("(name not recorded)") }}</strong>
{% if let Some(email) = manager.email %}&lt;{{ email }}&gt;{% endif %},
designated effective {{ manager.effective_date }} (<code>{{ manager.assignment_id }}</code>).</p>
{% else %}
<p><strong>No CIP Senior Manager was designated on this date.</strong></p>
{% endif %}
<p>The whole designation history is in <code>populations/cip-senior-manager.csv</code>.</p>

<h2>Training standing on {{ as_of }} (CIP-004)</h2>
<p>{{ members_on_date }} members on the date; standings by person and module:</p>
<table><tr><th>Verdict</th><th>Count</th></tr>
{% for row in counts %}<tr><td>{{ row.label }}</td><td>{{ row.count }}</td></tr>
{% endfor %}</table>

<h2>People not current on {{ as_of }}</h2>
{% if not_current.is_empty() %}<p>None.</p>{% else %}
<table><tr><th>Person</th><th>User id</th><th>Module</th><th>Verdict</th></tr>
{% for row in not_current %}<tr><td>{{ row.name }}</td><td><code>{{ row.user_id }}</code></td><td>{{ row.module }}</td><td>{{ row.verdict }}</td></tr>
{% endfor %}</table>{% endif %}

<h2>Sampled people</h2>
<p>{{ sampled }} people; each one's records are under <code>samples/&lt;user id&gt;/</code>.</p>

<h2>How to verify this package</h2>
<ol>
<li><code>manifest.json</code> lists every file with its SHA-256 and is signed (ECDSA P-256, SHA-256) with the key <code>{{ key_id }}</code>, whose public key is <code>audit/public-key.pem</code>. Obtain the key from Raptor Comply (<code>GET /audit-events/public-key</code>) rather than trusting the copy in the package.</li>
<li>Run <code>verify-audit --package package.zip --public-key key.pem</code>: it checks the manifest's signature, every file's hash, and the audit trail in <code>audit/bundle.json</code> against its signed, chained digests.</li>
<li>Without our tool: <code>sha256sum</code> each file against the manifest; the signed bytes and the digests' byte forms are written down in Raptor Comply's <code>docs/audit.md</code>.</li>
</ol>
</body></html>
"#
)]
struct SummaryPage<'a> {
    organization: &'a str,
    package_id: &'a str,
    as_of: Date,
    from: Date,
    to: Date,
    built_at: Timestamp,
    senior_manager: Option<&'a DesignationRow>,
    members_on_date: usize,
    counts: Vec<VerdictCount>,
    not_current: Vec<NotCurrent<'a>>,
    sampled: usize,
    key_id: &'a str,
}

/// The verdicts a package's standings hold (`not_assigned` is the requirements' alone).
const VERDICTS: [(TrainingVerdict, &str); 5] = [
    (TrainingVerdict::Current, "current"),
    (TrainingVerdict::Expiring, "expiring"),
    (TrainingVerdict::Expired, "expired"),
    (TrainingVerdict::NeverCompleted, "never completed"),
    (TrainingVerdict::Waived, "waived"),
];

fn label(verdict: TrainingVerdict) -> &'static str {
    VERDICTS
        .iter()
        .find(|(known, _)| *known == verdict)
        .map_or("", |(_, label)| label)
}

pub fn render(facts: &SummaryFacts<'_>) -> Result<String, askama::Error> {
    SummaryPage {
        organization: facts.organization_name,
        package_id: facts.package_id,
        as_of: facts.as_of,
        from: facts.from,
        to: facts.to,
        built_at: facts.built_at,
        senior_manager: facts.senior_manager,
        members_on_date: facts.members_on_date,
        counts: VERDICTS
            .iter()
            .map(|(verdict, label)| VerdictCount {
                label,
                count: facts.standings.iter().filter(|row| row.verdict == *verdict).count(),
            })
            .collect(),
        not_current: facts
            .standings
            .iter()
            .filter(|row| row.is_not_current())
            .map(|row| NotCurrent {
                name: &row.display_name,
                user_id: row.user_id.to_string(),
                module: &row.module_title,
                verdict: label(row.verdict),
            })
            .collect(),
        sampled: facts.sampled,
        key_id: facts.key_id,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TrainingModuleId, UserId};

    #[test]
    fn the_page_escapes_names_and_lists_who_is_not_current() {
        let standing = |name: &str, verdict| StandingRow {
            user_id: UserId::new(),
            display_name: name.to_string(),
            training_module_id: TrainingModuleId::new(),
            module_title: "CIP-004 annual".into(),
            cip_standard: None,
            verdict,
            latest_completed_at: None,
            expires_at: None,
            waived_at: None,
        };
        let standings = [
            standing("<script>alert(1)</script>", TrainingVerdict::Expired),
            standing("Current Person", TrainingVerdict::Current),
        ];
        let page = render(&SummaryFacts {
            organization_name: "Grid & Co",
            package_id: "evp_x",
            as_of: Date::parse("d", "2026-06-30").unwrap(),
            from: Date::parse("d", "2026-01-01").unwrap(),
            to: Date::parse("d", "2026-06-30").unwrap(),
            built_at: Timestamp::parse("t", "2026-07-01T00:00:00Z").unwrap(),
            members_on_date: 2,
            senior_manager: None,
            standings: &standings,
            sampled: 0,
            key_id: "arn:key",
        })
        .unwrap();
        assert!(page.contains("Grid &#38; Co") || page.contains("Grid &amp; Co"));
        assert!(!page.contains("<script>"), "a name is text, never markup");
        assert!(page.contains("No CIP Senior Manager was designated"));
        assert!(
            !page.contains("Current Person</td>"),
            "only people not current are listed"
        );
        assert!(!page.contains("src=") && !page.contains("http"), "no external asset");
    }
}
