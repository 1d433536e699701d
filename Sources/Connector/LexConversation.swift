import Dispatch
import Lex
import Logging

/// The Lex side of one call, as `CallSession` drives it: caller inputs go in, reply audio and
/// completions come back through the delegate on the call's event loop. The call's state
/// machine knows only this (its `sendToLex` and `cancelLex` actions, its `lexReplyStarted`,
/// `lexAudio` and `lexCompleted` inputs), not the transport.
///
/// Implementations: `TurnBasedConversation` (one RecognizeUtterance or PostContent request
/// per input, today's). A streaming conversation (one Lex V2 StartConversation stream per
/// call) fits the same shape: each input becomes events on the stream, each of Lex's answers
/// a turn.
///
/// Contract: at most one turn is open; after `cancelTurn()` returns, no delegate callback for
/// that turn runs; every turn that is not cancelled ends with exactly one `lexTurnCompleted`.
protocol LexConversation: AnyObject {
    /// Opens a turn for `input` with the session attributes the call holds now.
    func startTurn(_ input: LexInput, sessionAttributes: [String: String])
    /// Abandons the open turn (hang-up), if any.
    func cancelTurn()
}

/// Where a conversation delivers a turn's reply, on the call's event loop.
protocol LexConversationDelegate: AnyObject {
    /// The turn's reply began: Lex's metadata from the response head (no audio, no
    /// transcript needed), before its audio. Optional for a conversation to deliver.
    func lexReplyStarted(_ turn: LexTurn)
    /// The next bytes of the reply audio: 16 kHz 16-bit LE PCM, whole samples or not.
    func lexReplyAudio(_ chunk: [UInt8])
    /// The turn ended: Lex's turn (metadata; its audio came through `lexReplyAudio`) or why not.
    func lexTurnCompleted(_ result: Result<LexTurn, LexError>)
}

/// Today's conversation: one `LexClient` request per caller input (Lex V2 RecognizeUtterance
/// or V1 PostContent, by the call's route), the reply streamed as it arrives.
final class TurnBasedConversation: LexConversation, @unchecked Sendable {
    private let client: LexClient
    private let target: LexTarget
    private let region: String
    private let credentials: AWSCredentials
    private let requestAttributes: [String: String]
    private let queue: DispatchQueue
    private let logger: Logger
    weak var delegate: LexConversationDelegate?
    // Confined to `queue`:
    private var open: LexRequestHandle?
    /// Numbers the turns, so that a cancelled turn's late callbacks are dropped.
    private var turn: UInt64 = 0

    init(client: LexClient, target: LexTarget, settings: CallSettings, queue: DispatchQueue, logger: Logger) {
        self.client = client
        self.target = target
        region = settings.region
        credentials = settings.credentials
        requestAttributes = settings.requestAttributes
        self.queue = queue
        self.logger = logger
    }

    func startTurn(_ input: LexInput, sessionAttributes: [String: String]) {
        precondition(open == nil, "a Lex turn is already open")
        turn &+= 1
        let current = turn
        let request = LexRequest(target: target, region: region, input: input,
                                 sessionAttributes: sessionAttributes, requestAttributes: requestAttributes)
        open = client.send(
            request, credentials: credentials, callbackQueue: queue,
            onResponseStart: { [weak self] head in
                guard let self, self.turn == current, self.open != nil else { return }
                self.delegate?.lexReplyStarted(head)
            },
            onAudio: { [weak self] chunk in
                guard let self, self.turn == current, self.open != nil else { return }
                self.delegate?.lexReplyAudio(chunk)
            },
            logger: logger,
            onComplete: { [weak self] result in
                guard let self, self.turn == current, self.open != nil else { return }
                self.open = nil
                self.delegate?.lexTurnCompleted(result)
            })
    }

    func cancelTurn() {
        guard let handle = open else { return }
        open = nil
        handle.cancel()
    }
}
