// A Go TLS client (crypto/tls: its alerts are encrypted under TLS 1.3) that asks an HTTP proxy
// for a CONNECT tunnel and starts TLS trusting only the given CA (tests only).
//
//	go run tls-refuse.go <proxy port> <host:port> <ca.pem>
//
// Prints "refused: <error>" when the handshake fails, "accepted" when it succeeds.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	proxy, target, caPath := os.Args[1], os.Args[2], os.Args[3]
	conn, err := net.Dial("tcp", "127.0.0.1:"+proxy)
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		fmt.Println("connect:", err, resp)
		os.Exit(1)
	}
	pem, err := os.ReadFile(caPath)
	if err != nil {
		fmt.Println("ca:", err)
		os.Exit(1)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	host, _, _ := net.SplitHostPort(target)
	t := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err := t.Handshake(); err != nil {
		fmt.Println("refused:", err)
		conn.Close()
		return
	}
	fmt.Println("accepted")
	t.Close()
}
