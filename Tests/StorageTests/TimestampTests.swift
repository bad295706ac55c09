import Foundation
import Testing

@testable import Storage

/// The one stored form of times.
struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_795_596_411.123)) == "2026-11-25T08:46:51.123Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
    }

    @Test func parsesWhatItFormats() throws {
        for text in ["1970-01-01T00:00:00.000Z", "2026-11-25T08:46:51.123Z", "2000-02-29T23:59:59.999Z", "1969-12-31T23:59:59.000Z"] {
            let date = try #require(Timestamp.date(from: text))
            #expect(Timestamp.string(from: date) == text)
        }
    }

    @Test func rejectsOtherForms() {
        for text in [
            "2026-11-25 08:46:51.123", "2026-11-25T08:46:51Z", "2026-11-25T08:46:51.123+01:00", "2026-02-30T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z", "2026-11-25T24:00:00.000Z", "2026-11-25T08:46:51.12xZ", "",
        ] {
            #expect(Timestamp.date(from: text) == nil, "\(text)")
        }
    }

    @Test func nowRoundTripsExactly() throws {
        let now = Timestamp.now()
        #expect(Timestamp.date(from: Timestamp.string(from: now)) == now)
        #expect(Timestamp.rounded(now) == now)
    }
}
