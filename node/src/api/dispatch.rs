//! Calls the handler of a matched route (the table: [`super::routes`]).

use super::error::ApiError;
use super::routes::RouteId;
use super::{admin, audit_routes, batch, changes, json, list, openapi, records, submit, text, tlog_routes, Ctx, Resp};

/// Calls the handler.
///
/// # Errors
/// The handler's [`ApiError`].
pub async fn dispatch(id: RouteId, c: Ctx) -> Result<Resp, ApiError> {
    use RouteId::*;
    match id {
        Health => records::health(c).await,
        OpenApi => Ok(json(hyper::StatusCode::OK, &openapi::document())),
        SubmitRecord => submit::record(c).await,
        SubmitBatch => batch::submit(c).await,
        Changes => changes::changes(c).await,
        SubmitEnvelope => submit::envelope(c).await,
        ListRecords => list::list(c).await,
        ExportRecords => list::export(c).await,
        GetRecord => records::get_record(c).await,
        GetObject => records::get_object(c).await,
        SubjectRecords => records::subject_records(c).await,
        Repair => submit::repair(c).await,
        Objection => submit::objection(c).await,
        Resolution => submit::resolution(c).await,
        Withdrawal => submit::withdrawal(c).await,
        Correction => submit::correction(c).await,
        SubmitScheme => submit::scheme(c).await,
        ListSchemes => records::schemes(c).await,
        Eligibility => records::eligibility(c).await,
        Measure => submit::measure(c).await,
        Checkpoint => audit_routes::checkpoint(c).await,
        Entries => audit_routes::entries(c).await,
        Inclusion => audit_routes::inclusion(c).await,
        Consistency => audit_routes::consistency(c).await,
        Export => audit_routes::export(c).await,
        Feeds => audit_routes::feeds(c).await,
        FeedRange => audit_routes::feed_range(c).await,
        Compliance => audit_routes::compliance(c).await,
        ComplianceReport => audit_routes::compliance_report(c).await,
        Metrics => Ok(text(hyper::StatusCode::OK, c.app.state().metrics.render(), "text/plain; version=0.0.4")),
        Peers => admin::peers(c).await,
        PeerBan => admin::peer_ban(c).await,
        TrustList => admin::trust_list(c).await,
        TrustPin => admin::trust_pin(c).await,
        TrustUnpin => admin::trust_unpin(c).await,
        PolicyGet => admin::policy_get(c).await,
        PolicyPut => admin::policy_put(c).await,
        TokensList => admin::tokens_list(c).await,
        TokenIssue => admin::token_issue(c).await,
        TokenRevoke => admin::token_revoke(c).await,
        TlogCheckpoint => tlog_routes::checkpoint(c).await,
        TlogTile => tlog_routes::tile(c).await,
        TlogAddCheckpoint => tlog_routes::add_checkpoint(c).await,
    }
}
