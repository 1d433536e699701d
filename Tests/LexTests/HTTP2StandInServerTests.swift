import Foundation
import Lex
import LexStandIn
import Testing

@Suite struct HTTP2StandInServerTests {
    /// Handlers answer from threads of their own, and may go on after the client has gone. A
    /// connection that ended ignores them: nothing is written into its closed wakeup descriptor
    /// (once a pipe, whose SIGPIPE killed the whole test process without a word, or whose
    /// number another socket had reused by then), and the server goes on serving.
    @Test func handlersAnsweringAfterTheirConnectionEndedAreIgnored() throws {
        let answering = DispatchGroup()
        let server = try HTTP2StandInServer { stream in
            stream.respond(status: 200)
            answering.enter()
            Thread {
                for _ in 0..<2000 { stream.send([1, 2, 3]) }
                stream.finish()
                answering.leave()
            }.start()
        }
        defer { server.stop() }
        for round in 0..<100 {
            let client = HTTP2Client()
            let recorder = StreamRecorder()
            _ = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
            #expect(eventually { recorder.received.status == 200 }, "round \(round): the response head")
            client.shutdown()  // the connection ends while the handler's thread sends
            #expect(recorder.waitEnd() != nil, "round \(round): the stream ended")
        }
        #expect(answering.wait(timeout: .now() + 30) == .success, "every handler thread finished")

        let client = HTTP2Client()
        defer { client.shutdown() }
        let recorder = StreamRecorder()
        _ = try client.open(url: "http://127.0.0.1:\(server.port)/", headers: [], queue: recorder.queue, handlers: recorder.handlers)
        #expect(recorder.waitEnd() == .some(nil), "a new connection is answered whole")
        #expect(recorder.received.body.count == 6000)
    }
}
