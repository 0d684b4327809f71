// A strict HTTP/2 origin on Go's standard library (tests only, not ours): TLS on 127.0.0.1:0 with
// the given leaf, ALPN h2, SETTINGS_MAX_CONCURRENT_STREAMS 2 and a 1000-byte stream window
// (SETTINGS_INITIAL_WINDOW_SIZE), both enforced from the first frame on (Go refuses streams over
// the limit while its SETTINGS are unacknowledged and resets a stream that overruns its window).
// Prints the port, then serves until stdin closes. Routes: any path, the request body's length
// and SHA-256 as "n=<len> sha=<hex>", after a 20 ms pause (so streams overlap).
//
// Usage: strict-h2-origin <cert.pem> <key.pem>
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	cert, err := tls.LoadX509KeyPair(os.Args[1], os.Args[2])
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			time.Sleep(20 * time.Millisecond)
			fmt.Fprintf(w, "n=%d sha=%s", n, hex.EncodeToString(h.Sum(nil)))
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}},
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: 2, MaxReceiveBufferPerStream: 1000},
		Protocols: new(http.Protocols),
	}
	srv.Protocols.SetHTTP2(true)
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = srv.ServeTLS(ln, "", "")
}
