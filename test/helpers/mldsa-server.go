// A scripted TLS 1.3 server that "chooses ML-DSA", for tests only: it answers one ClientHello
// with ServerHello (TLS_AES_128_GCM_SHA256, x25519), then EncryptedExtensions, Certificate and a
// CertificateVerify whose algorithm is ML-DSA-65 (0x0905). No TLS library can do that today, so
// the handshake is written by hand (RFC 8446 §4, §5.2, §7.1); the signature bytes are random, the
// client must refuse before looking at them.
//
//	go run mldsa-server.go <mode> <leaf.der>
//
// mode "verify": the leaf certificate as given (an ECDSA key), only the CertificateVerify
// algorithm is ML-DSA. mode "leaf": the leaf's subjectPublicKeyInfo is replaced by an ML-DSA-65
// key (OID 2.16.840.1.101.3.4.3.18), as a real ML-DSA server would send.
// Prints "port <n>" once listening, then "closed <bytes>" with the number of bytes the client sent
// after the ServerHello flight before closing (its alert), and exits.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

const (
	mldsa65         = 0x0905 // draft-ietf-tls-mldsa SignatureScheme
	mldsa65KeyBytes = 1952   // FIPS 204 ML-DSA-65 public key size
	mldsa65SigBytes = 3309   // FIPS 204 ML-DSA-65 signature size
)

var mldsa65OID = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}

func u16(b []byte) int { return int(binary.BigEndian.Uint16(b)) }

func vec(n int, body []byte) []byte { // n-byte length prefix
	out := make([]byte, n, n+len(body))
	for i := 0; i < n; i++ {
		out[i] = byte(len(body) >> (8 * (n - 1 - i)))
	}
	return append(out, body...)
}

func msg(typ byte, body []byte) []byte { return append([]byte{typ}, vec(3, body)...) }

func expandLabel(secret []byte, label string, context []byte, length int) []byte {
	info := append([]byte{byte(length >> 8), byte(length)}, vec(1, []byte("tls13 "+label))...)
	info = append(info, vec(1, context)...)
	out, err := hkdf.Expand(sha256.New, secret, string(info), length)
	must(err)
	return out
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// readHello reads the ClientHello handshake message (possibly over several records).
func readHello(c net.Conn) []byte {
	var hs []byte
	for len(hs) < 4 || len(hs) < 4+int(hs[1])<<16|u16(hs[2:4]) {
		hdr := make([]byte, 5)
		_, err := io.ReadFull(c, hdr)
		must(err)
		body := make([]byte, u16(hdr[3:5]))
		_, err = io.ReadFull(c, body)
		must(err)
		hs = append(hs, body...)
	}
	return hs[:4+(int(hs[1])<<16|u16(hs[2:4]))]
}

// helloFields returns the legacy_session_id and the client's x25519 key share.
func helloFields(hello []byte) (sid, share []byte) {
	p := 4 + 2 + 32
	sid = hello[p+1 : p+1+int(hello[p])]
	p += 1 + int(hello[p])
	p += 2 + u16(hello[p:])
	p += 1 + int(hello[p])
	end := p + 2 + u16(hello[p:])
	for p += 2; p < end; {
		typ, n := u16(hello[p:]), u16(hello[p+2:])
		data := hello[p+4 : p+4+n]
		p += 4 + n
		if typ != 51 {
			continue
		}
		for q := 2; q < len(data); {
			group, kn := u16(data[q:]), u16(data[q+2:])
			if group == 29 {
				share = data[q+4 : q+4+kn]
			}
			q += 4 + kn
		}
	}
	if share == nil {
		must(fmt.Errorf("no x25519 key share"))
	}
	return sid, share
}

// mldsaLeaf swaps the certificate's subjectPublicKeyInfo for an ML-DSA-65 one (the signature no
// longer matches: the client fails before it would check it).
func mldsaLeaf(der []byte) []byte {
	var cert struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.RawValue
	}
	_, err := asn1.Unmarshal(der, &cert)
	must(err)
	var fields []asn1.RawValue
	for rest := cert.TBS.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		rest, err = asn1.Unmarshal(rest, &f)
		must(err)
		fields = append(fields, f)
	}
	key := make([]byte, mldsa65KeyBytes)
	_, _ = rand.Read(key)
	spki, err := asn1.Marshal(struct {
		Alg struct{ OID asn1.ObjectIdentifier }
		Key asn1.BitString
	}{struct{ OID asn1.ObjectIdentifier }{mldsa65OID}, asn1.BitString{Bytes: key, BitLength: len(key) * 8}})
	must(err)
	// [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
	fields[6] = asn1.RawValue{FullBytes: spki}
	var tbs []byte
	for _, f := range fields {
		tbs = append(tbs, f.FullBytes...)
	}
	tbsDer, err := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 16, IsCompound: true, Bytes: tbs})
	must(err)
	body := append(append(tbsDer, cert.SigAlg.FullBytes...), cert.Sig.FullBytes...)
	out, err := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 16, IsCompound: true, Bytes: body})
	must(err)
	return out
}

func main() {
	mode, leafPath := os.Args[1], os.Args[2]
	leaf, err := os.ReadFile(leafPath)
	must(err)
	if mode == "leaf" {
		leaf = mldsaLeaf(leaf)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	c, err := ln.Accept()
	must(err)
	defer c.Close()

	hello := readHello(c)
	sid, clientShare := helloFields(hello)
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	must(err)
	peer, err := ecdh.X25519().NewPublicKey(clientShare)
	must(err)
	shared, err := priv.ECDH(peer)
	must(err)

	random := make([]byte, 32)
	_, _ = rand.Read(random)
	ext := append([]byte{0, 43, 0, 2, 3, 4}, append([]byte{0, 51}, vec(2, append([]byte{0, 29}, vec(2, priv.PublicKey().Bytes())...))...)...)
	sh := append([]byte{3, 3}, random...)
	sh = append(sh, vec(1, sid)...)
	sh = append(sh, 0x13, 0x01, 0)
	sh = append(sh, vec(2, ext)...)
	serverHello := msg(2, sh)
	_, err = c.Write(append([]byte{22, 3, 3}, vec(2, serverHello)...))
	must(err)

	// RFC 8446 §7.1 key schedule up to the server handshake traffic secret.
	zeros := make([]byte, 32)
	early, err := hkdf.Extract(sha256.New, zeros, nil)
	must(err)
	empty := sha256.Sum256(nil)
	derived := expandLabel(early, "derived", empty[:], 32)
	hsSecret, err := hkdf.Extract(sha256.New, shared, derived)
	must(err)
	transcript := sha256.Sum256(append(append([]byte{}, hello...), serverHello...))
	traffic := expandLabel(hsSecret, "s hs traffic", transcript[:], 32)
	block, err := aes.NewCipher(expandLabel(traffic, "key", nil, 16))
	must(err)
	aead, err := cipher.NewGCM(block)
	must(err)
	iv := expandLabel(traffic, "iv", nil, 12)

	sig := make([]byte, mldsa65SigBytes)
	_, _ = rand.Read(sig)
	flight := msg(8, vec(2, nil))
	flight = append(flight, msg(11, append([]byte{0}, vec(3, append(vec(3, leaf), 0, 0))...))...)
	flight = append(flight, msg(15, append([]byte{mldsa65 >> 8, mldsa65 & 0xff}, vec(2, sig)...))...)
	inner := append(flight, 22) // TLSInnerPlaintext: content type handshake
	header := []byte{23, 3, 3, byte((len(inner) + 16) >> 8), byte(len(inner) + 16)}
	record := aead.Seal(append([]byte{}, header...), iv, inner, header) // sequence 0: nonce = iv
	_, err = c.Write(record)
	must(err)

	rest, _ := io.ReadAll(c)
	fmt.Printf("closed %d\n", len(rest))
}
