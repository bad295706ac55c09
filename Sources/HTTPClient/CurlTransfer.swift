import CCurl
import Glibc

/// One blocking libcurl transfer: its easy handle, and the response as the callbacks collect it.
///
/// Lives on the one thread that runs `perform`; only `cancellation` is shared with other threads.
/// With a `sink` (streaming), the head and each piece of the body go to it as they arrive instead.
final class CurlTransfer {
    private let maximumResponseSize: Int
    private let cancellation: CancellationFlag
    private let sink: StreamSink?
    private var body: [UInt8] = []
    private var headers = HTTPHeaders()
    private var status = 0
    private var bodyTooLarge = false

    private init(maximumResponseSize: Int, cancellation: CancellationFlag, sink: StreamSink? = nil) {
        self.maximumResponseSize = maximumResponseSize
        self.cancellation = cancellation
        self.sink = sink
    }

    /// Sends `request` and waits for the whole response; blocks the calling thread.
    static func perform(
        _ request: HTTPRequest, configuration: HTTPClient.Configuration, cancellation: CancellationFlag
    ) -> Result<HTTPResponse, HTTPClientError> {
        let transfer = CurlTransfer(maximumResponseSize: configuration.maximumResponseSize, cancellation: cancellation)
        return withExtendedLifetime(transfer) { transfer.run(request, configuration) }
    }

    /// Sends `request` and hands the head, then the body, to `sink` as they arrive; blocks the calling
    /// thread until the transfer ends. The result's body is empty. No size limit, and no time limit
    /// unless the request sets one.
    static func stream(
        _ request: HTTPRequest, configuration: HTTPClient.Configuration, cancellation: CancellationFlag, sink: StreamSink
    ) -> Result<HTTPResponse, HTTPClientError> {
        let transfer = CurlTransfer(maximumResponseSize: .max, cancellation: cancellation, sink: sink)
        return withExtendedLifetime(transfer) { transfer.run(request, configuration) }
    }

    private func run(_ request: HTTPRequest, _ configuration: HTTPClient.Configuration) -> Result<HTTPResponse, HTTPClientError> {
        let target = Self.redacted(request.url)
        let what = "\(request.method) \(target)" + (configuration.unixSocketPath.map { " (over unix socket \($0))" } ?? "")
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            guard Self.isToken(name), !value.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
                let message = "\(what): the header \(Self.printable(name)) has a name or value that HTTP does not allow"
                return .failure(HTTPClientError(.invalidRequest, message))
            }
            // "Name;" is libcurl's way to send a header with an empty value.
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if request.headers["Expect"] == nil {
            headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        }
        // The body in memory of its own that libcurl reads in place (no copy of libcurl's), zeroed when the transfer
        // ends: a body may hold an agent's credentials.
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, request.body.count), alignment: 1)
        request.body.withUnsafeBytes { payload.copyMemory(from: $0) }
        defer {
            explicit_bzero(payload.baseAddress!, payload.count)  // a zeroing the compiler may not leave out
            payload.deallocate()
        }
        // Declared after the buffers it uses, so that it is cleaned up before they are freed.
        guard let handle = curl_easy_init() else {
            return .failure(HTTPClientError(.unavailable, "\(what): libcurl could not create a handle"))
        }
        defer { curl_easy_cleanup(handle) }

        let userData = Unmanaged.passUnretained(self).toOpaque()
        var setup = CURLE_OK
        func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
        set(ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(ccurl_easy_setopt_string(handle, CURLOPT_URL, request.url))
        set(ccurl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout)))
        if let timeout = sink == nil ? request.timeout ?? configuration.timeout : request.timeout {
            set(ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout)))
        }
        set(ccurl_easy_setopt_string(handle, CURLOPT_USERAGENT, configuration.userAgent))
        set(ccurl_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))  // any encoding libcurl can decode
        if let pin = configuration.pinnedPublicKey {
            // The pin replaces the certificate authorities and the host name check; libcurl still refuses any other key.
            set(ccurl_easy_setopt_string(handle, CURLOPT_PINNEDPUBLICKEY, pin))
            set(ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0))
            set(ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let socket = configuration.unixSocketPath {
            set(ccurl_easy_setopt_string(handle, CURLOPT_UNIX_SOCKET_PATH, socket))
        }
        set(ccurl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        set(ccurl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, { buffer, size, count, userData in
            Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue().receiveBody(buffer, size * count)
        }))
        set(ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, userData))
        set(ccurl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, { buffer, size, count, userData in
            Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue().receiveHeader(buffer, size * count)
        }))
        set(ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, userData))
        set(ccurl_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
        set(ccurl_easy_setopt_progress_callback(handle, CURLOPT_XFERINFOFUNCTION, { userData, _, _, _, _ in
            Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue().cancellation.isCancelled ? 1 : 0
        }))
        set(ccurl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, userData))
        switch request.method {
        case .get where request.body.isEmpty:
            set(ccurl_easy_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .head:
            set(ccurl_easy_setopt_long(handle, CURLOPT_NOBODY, 1))
        default:
            set(ccurl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
            if !request.body.isEmpty || [.post, .put, .patch].contains(request.method) {
                set(ccurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
                set(ccurl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, payload.baseAddress))
            }
        }
        guard setup == CURLE_OK else {
            let message = "\(what): libcurl refused an option: \(Self.explanation(setup, errorBuffer))"
            return .failure(HTTPClientError(.unavailable, message, curlCode: Int(setup.rawValue)))
        }

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            return .failure(error(code, what, errorBuffer))
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: headers, body: body))
    }

    private func receiveBody(_ buffer: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let buffer, count > 0 else { return 0 }
        if let sink {
            // 0 (stop now) once the reader has let go of the body.
            return sink.body(Array(UnsafeRawBufferPointer(start: buffer, count: count))) ? count : 0
        }
        guard body.count + count <= maximumResponseSize else {
            bodyTooLarge = true
            return 0  // anything but `count` makes libcurl stop with CURLE_WRITE_ERROR
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
        return count
    }

    private func receiveHeader(_ buffer: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let buffer else { return 0 }
        let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: count), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers = HTTPHeaders()  // a new response begins (after a 1xx, or a redirect)
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if line.trimmingWhitespace().isEmpty {
            if status >= 200 { sink?.head(status, headers) }  // the end of a final response's head
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingWhitespace()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            if !name.isEmpty { headers.add(name, value) }
        }
        return count
    }

    private func error(_ code: CURLcode, _ what: String, _ errorBuffer: UnsafeMutablePointer<CChar>) -> HTTPClientError {
        let kind: HTTPClientError.Code
        switch code {
        case CURLE_COULDNT_CONNECT: kind = .couldNotConnect
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .couldNotResolveHost
        case CURLE_OPERATION_TIMEDOUT: kind = .timedOut
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: kind = .invalidURL
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE:
            kind = .tls
        case CURLE_ABORTED_BY_CALLBACK where cancellation.isCancelled: kind = .cancelled
        case CURLE_WRITE_ERROR where bodyTooLarge:
            return HTTPClientError(
                .responseTooLarge, "\(what): the response body is larger than \(maximumResponseSize) bytes", curlCode: Int(code.rawValue))
        default: kind = .transfer
        }
        return HTTPClientError(kind, "\(what): \(kind): \(Self.explanation(code, errorBuffer))", curlCode: Int(code.rawValue))
    }

    /// libcurl's detailed message for the failure, or its generic one.
    private static func explanation(_ code: CURLcode, _ errorBuffer: UnsafeMutablePointer<CChar>) -> String {
        let detail = String(cString: errorBuffer).trimmingWhitespace()
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    /// A URL fit for a message: no user info, query or fragment, which may carry secrets.
    static func redacted(_ url: String) -> String {
        var text = Substring(url)
        if let end = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<end] }
        guard let scheme = text.firstRange(of: "://") else { return String(text) }
        let authorityEnd = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
        if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
            return String(text[..<scheme.upperBound] + text[text.index(after: at)...])
        }
        return String(text)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        return max(1, Int(total.partialValue) + Int(attoseconds / 1_000_000_000_000_000))  // 0 would mean "no limit"
    }

    /// RFC 9110 token characters, the only ones a header name may hold.
    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func printable(_ name: String) -> String {
        isToken(name) ? name : String(reflecting: String(name.prefix(40)))
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
