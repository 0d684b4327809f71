// HttpsURLConnection through a proxy of the given type (tests only), with no Authenticator set.
// Over SOCKS, Java then offers username/password and sends the OS user name (user.name), and it
// resolves the target itself (an address is sent); over HTTP it sends CONNECT with the name. JSSE
// sends no SNI for a single-label host such as localhost.
// Usage: java socks-java-client.java socks|http PROXY_PORT URL CA_PEM. Prints "<status> <body>".
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class SocksJavaClient {
  public static void main(String[] a) throws Exception {
    Certificate ca;
    try (InputStream in = new FileInputStream(a[3])) {
      ca = CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("polytls", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    Proxy.Type type = a[0].equals("socks") ? Proxy.Type.SOCKS : Proxy.Type.HTTP;
    Proxy proxy = new Proxy(type, new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1])));
    HttpsURLConnection c = (HttpsURLConnection) URI.create(a[2]).toURL().openConnection(proxy);
    c.setSSLSocketFactory(ctx.getSocketFactory());
    c.setConnectTimeout(20_000);
    c.setReadTimeout(20_000);
    int status = c.getResponseCode();
    try (InputStream body = c.getInputStream()) {
      System.out.println(status + " " + new String(body.readAllBytes(), "UTF-8"));
    }
  }
}
