// Fidelity matrix client in Go (tests only; standard library only): for each job, one GET through
// the job's HTTPS CONNECT proxy with http.Transport{Proxy: http.ProxyURL(...)}, HTTP/2 allowed,
// the proxy's CA as the only root.
//
// Usage: fidelity-client <proxy CA PEM>   (jobs on stdin, "<id> <proxy port> <url>" a line).
// Prints "RESULT <id> <status> <base64 body or error>" a job.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func get(roots *x509.CertPool, port string, target string) (int, []byte, error) {
	proxy, err := url.Parse("http://127.0.0.1:" + port)
	if err != nil {
		return 0, nil, err
	}
	tr := &http.Transport{
		Proxy:             http.ProxyURL(proxy),
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	res, err := client.Get(target)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

func main() {
	pem, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		parts := strings.Fields(scanner.Text())
		if len(parts) != 3 {
			continue
		}
		status, body, err := get(roots, parts[1], parts[2])
		if err != nil {
			status, body = 0, []byte(err.Error())
		}
		fmt.Printf("RESULT %s %d %s\n", parts[0], status, base64.StdEncoding.EncodeToString(body))
	}
}
