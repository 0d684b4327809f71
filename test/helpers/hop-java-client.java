// Java HttpClient through PolyTLS with proxy credentials from an Authenticator (tests only).
// Usage: java -Djdk.http.auth.tunneling.disabledSchemes= hop-java-client.java PORT USER PASS URL CA_PEM
// Prints "<status> <body>". Java sends proxy credentials only after a 407, and refuses Basic for
// tunnels unless jdk.http.auth.tunneling.disabledSchemes is emptied.
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class HopJavaClient {
  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]);
    String user = a[1];
    char[] pass = a[2].toCharArray();
    Certificate ca;
    try (InputStream in = new FileInputStream(a[4])) {
      ca = CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("polytls", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    HttpClient client = HttpClient.newBuilder()
        .sslContext(ctx)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", port)))
        .authenticator(new Authenticator() {
          @Override
          protected PasswordAuthentication getPasswordAuthentication() {
            return getRequestorType() == RequestorType.PROXY ? new PasswordAuthentication(user, pass) : null;
          }
        })
        .connectTimeout(Duration.ofSeconds(20))
        .build();
    HttpResponse<String> r =
        client.send(HttpRequest.newBuilder(URI.create(a[3])).build(), HttpResponse.BodyHandlers.ofString());
    System.out.println(r.statusCode() + " " + r.body());
  }
}
