import Crypto
import Foundation
import HummingbirdTLS
import SwiftASN1
import X509

/// The appliance's own TLS identity, for droplets to pin: a P-256 key and a self-signed certificate, made once and
/// kept in the data directory (`tls/server-key.pem` 0600, `tls/server-cert.pem`), and their pin: `sha256//` and the
/// base64 SHA-256 of the public key's SubjectPublicKeyInfo, the form libcurl's CURLOPT_PINNEDPUBLICKEY takes.
/// The pin follows the key, not the certificate, so a renewed certificate with the same key keeps it.
struct ServerIdentity {
    let certificatePEM: String
    let privateKeyPEM: String
    /// What droplets check the appliance's key against.
    let pin: String

    /// The identity in `folder`, made there first if it is not (with `hosts` as its subject alternative names).
    static func loadOrCreate(in folder: String, hosts: [String]) throws -> ServerIdentity {
        let keyPath = folder + "/server-key.pem"
        let certificatePath = folder + "/server-cert.pem"
        let files = FileManager.default
        if files.fileExists(atPath: keyPath), files.fileExists(atPath: certificatePath) {
            let certificatePEM = try String(contentsOfFile: certificatePath, encoding: .utf8)
            let privateKeyPEM = try String(contentsOfFile: keyPath, encoding: .utf8)
            return ServerIdentity(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM, pin: try pin(of: Certificate(pemEncoded: certificatePEM)))
        }
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let certificate = try selfSigned(key, hosts: hosts)
        let certificatePEM = try certificate.serializeAsPEM().pemString
        // The key first, readable by the owner only; the certificate last, so a half-made identity is made again.
        guard files.createFile(atPath: keyPath, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]),
            files.createFile(atPath: certificatePath, contents: Data(certificatePEM.utf8), attributes: [.posixPermissions: 0o644])
        else { throw CLIError("cannot write the TLS key and certificate in \(folder); check that agentbox's user owns it") }
        return ServerIdentity(certificatePEM: certificatePEM, privateKeyPEM: key.pemRepresentation, pin: try pin(of: certificate))
    }

    /// The server side of TLS with this identity.
    func tlsConfiguration() throws -> TLSConfiguration {
        TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)))
    }

    /// `sha256//<base64>` of the certificate's SubjectPublicKeyInfo.
    static func pin(of certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate.publicKey)
        return "sha256//" + Data(SHA256.hash(data: serializer.serializedBytes)).base64EncodedString()
    }

    /// A ten-year self-signed server certificate for `hosts` (names and IP addresses).
    private static func selfSigned(_ key: P256.Signing.PrivateKey, hosts: [String]) throws -> Certificate {
        let signer = Certificate.PrivateKey(key)
        let name = try DistinguishedName { CommonName("agentbox appliance") }
        let now = Date()
        let names = try hosts.map { host -> GeneralName in
            if let address = IPv4Address(host) { return .ipAddress(ASN1OctetString(contentBytes: address.bytes[...])) }
            guard !host.isEmpty else { throw CLIError("an empty host name cannot go into the TLS certificate") }
            return .dnsName(host)
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signer.publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                KeyUsage(digitalSignature: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: signer)
    }
}

/// A dotted IPv4 address, for the certificate's subject alternative names.
struct IPv4Address {
    let bytes: [UInt8]

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard parts.count == 4, text.split(separator: ".", omittingEmptySubsequences: false).count == 4 else { return nil }
        bytes = parts
    }
}
