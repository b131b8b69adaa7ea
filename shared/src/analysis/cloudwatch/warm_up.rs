//! CloudWatch's alarm warm-up (`WarmUpConfiguration` on PutMetricAlarm), which the CloudWatch
//! SDK we can use predates: 1.100 and later speak a wire protocol (CBOR) the emulator does
//! not answer, and 1.99 has no field for it. The service takes the parameter in the query
//! protocol 1.99 speaks, so it is added to the request's form body before signing (the
//! signature and `Content-Length` then cover it). When the workspace moves to an SDK with the
//! field, this becomes `.warm_up_configuration(...)`.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

use crate::analysis::alarm::WarmUp;

/// Adds an alarm's [`WarmUp`] to its PutMetricAlarm request.
#[derive(Debug, Clone, Copy)]
pub(super) struct WarmUpForm(pub WarmUp);

impl WarmUpForm {
    /// The form parameters, as the query protocol writes a structure's members.
    fn form(&self) -> String {
        format!(
            "&WarmUpConfiguration.WarmUpPeriodDurationInMinutes={}&WarmUpConfiguration.OnlyStartEvaluatingAfterWarmUpPeriodEnds={}",
            self.0.minutes, self.0.whole
        )
    }
}

impl Intercept for WarmUpForm {
    fn name(&self) -> &'static str {
        "WarmUpConfiguration"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let body = request
            .body()
            .bytes()
            .ok_or("PutMetricAlarm's body is not in memory")?;
        let mut form = String::from_utf8(body.to_vec())?;
        if !form.contains("WarmUpConfiguration.") {
            form.push_str(&self.form());
        }
        request
            .headers_mut()
            .insert("content-length", form.len().to_string());
        *request.body_mut() = SdkBody::from(form);
        Ok(())
    }
}
