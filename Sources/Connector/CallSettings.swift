import Audio
import Lex

/// Everything a call runs with, resolved once from its start message, its principal, the
/// server's credential store and the configuration the call arrived under (a SIGHUP changes
/// later calls, not this one). Credentials and region are always there: a call without them
/// does not start.
struct CallSettings: Sendable, CustomStringConvertible {
    /// The call's sample rate in Hz: 8000, 16000 or 24000.
    var sampleRate: Int
    var credentials: AWSCredentials
    var region: String
    /// The rate of the audio sent to Lex and of the VAD: 8000 for 8 kHz calls, else 16000.
    var lexRate: Int
    var resampling: ResamplingPlan
    var segmenter: UtteranceSegmenter.Configuration
    var bargeIn: Bool
    var welcomeText: String?
    var webhookURL: String?
    var clientId: String?
    var sessionAttributes: [String: String]
    var requestAttributes: [String: String]
    /// No audio for this long ends the call; zero: never.
    var idleTimeout: Duration
    /// The call ends this long after it started; zero: never.
    var maxDuration: Duration
    var dtmfTimeout: Duration
    /// `[call] no_input_timeout_ms`: silence after a prompt before `noInputText` goes to Lex;
    /// zero: never (a turn's `x-amz-lex:audio:start-timeout-ms` still sets one).
    var noInputTimeout: Duration
    /// `[call] no_input_text`.
    var noInputText: String
    var maxQueuedInputs: Int
    /// `[call] close_on_final`: a final dialog state ends the call after its reply.
    var closeOnFinal: Bool
    /// `[debug] record_dir` is set: utterances and replies are recorded.
    var recording: Bool

    /// Bytes of one 20 ms frame at the call's rate (320, 640 or 960).
    var frameBytes: Int { sampleRate / 50 * 2 }

    /// Never shows the secret or the session token.
    var description: String {
        "rate=\(sampleRate) region=\(region) key=\(credentials.accessKeyId) sensitivity=\(segmenter.sensitivity) silence_time=\(segmenter.silenceTime) clip_min=\(segmenter.clipMin) clip_max=\(segmenter.clipMax) barge_in=\(bargeIn) client_id=\(clientId ?? "-")"
    }

    /// Which sample-rate conversions the call needs, as (from, to) rates in Hz.
    struct ResamplingPlan: Sendable, Equatable {
        /// The caller's audio to the Lex rate (24 kHz calls only).
        var inbound: (from: Int, to: Int)?
        /// Lex's 16 kHz reply to the call's rate (8 and 24 kHz calls).
        var reply: (from: Int, to: Int)?

        static func == (a: Self, b: Self) -> Bool {
            a.inbound?.from == b.inbound?.from && a.inbound?.to == b.inbound?.to
                && a.reply?.from == b.reply?.from && a.reply?.to == b.reply?.to
        }
    }

    /// Which AWS credentials and region the call uses: its own keys, a server-side profile
    /// bound to its tenant, or the environment's (authenticated calls only). The region is the
    /// call's `aws_region`, else the profile's, else `[lex] region`, and must be in
    /// `[security] allowed_regions` when that is set.
    static func resolve(_ start: StartParameters, principal: Principal?, credentialStore: CredentialStore,
                        configuration config: LexmoConfiguration, recording: Bool = false) throws(CallSettingsError) -> CallSettings {
        let credentials: AWSCredentials
        var profileRegion: String?
        if let name = start.profile {
            switch credentialStore.lookup(profile: name, principal: principal) {
            case .failure(let e): throw .profile(e)
            case .success(let entry):
                credentials = entry.credentials
                profileRegion = entry.region
            }
        } else if let own = start.credentials {
            credentials = own
        } else {
            guard principal != nil, let fallback = credentialStore.environmentDefault else { throw .missingCredentials }
            credentials = fallback
        }
        let region = start.requestedRegion ?? profileRegion ?? config.lex.region
        let allowed = config.security.allowedRegions
        if !allowed.isEmpty && !allowed.contains(region) { throw .regionNotAllowed(region) }

        let rate = start.sampleRate
        let lexRate = rate == 8000 ? 8000 : 16000
        return CallSettings(
            sampleRate: rate, credentials: credentials, region: region, lexRate: lexRate,
            resampling: ResamplingPlan(inbound: rate == 24000 ? (24000, 16000) : nil, reply: rate != 16000 ? (16000, rate) : nil),
            segmenter: .init(sensitivity: start.sensitivity, silenceTime: start.silenceTime, clipMin: start.clipMin,
                             clipMax: start.clipMax, preRoll: config.vad.preRoll,
                             noiseMargin: Double(config.vad.noiseMargin)),
            bargeIn: start.bargeIn, welcomeText: start.welcomeText, webhookURL: start.webhookURL, clientId: start.clientId,
            sessionAttributes: start.sessionAttributes, requestAttributes: start.requestAttributes,
            idleTimeout: max(.zero, config.call.idleTimeout), maxDuration: max(.zero, config.call.maxDuration),
            dtmfTimeout: config.call.dtmfTimeout, noInputTimeout: max(.zero, config.call.noInputTimeout),
            noInputText: config.call.noInputText, maxQueuedInputs: config.call.maxQueuedUtterances,
            closeOnFinal: config.call.closeOnFinal, recording: recording)
    }
}

/// Why a call's start message cannot become settings. Each says what to change.
enum CallSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `aws_profile` names no profile this principal may use.
    case profile(CredentialStore.LookupError)
    /// Neither `aws_key`/`aws_secret`, nor `aws_profile`, nor (authenticated) environment credentials.
    case missingCredentials
    /// The region is not in `[security] allowed_regions`.
    case regionNotAllowed(String)

    var description: String {
        switch self {
        case .profile(let e): e.description
        case .missingCredentials: "aws_key is missing (give aws_key and aws_secret, or aws_profile)"
        case .regionNotAllowed(let r): "aws_region \(r) is not allowed on this server"
        }
    }
}
