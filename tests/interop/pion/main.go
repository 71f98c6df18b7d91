// Command pion-interop-client drives a TURN server with the pion/turn v2
// client and fails on any lost, corrupted, duplicated or reordered datagram.
//
// It allocates a UDP relay (over UDP, TCP or TLS to the server), creates a
// permission for a UDP echo peer on loopback, receives one datagram that the
// peer sends first (it must arrive as a Data indication: no channel is bound
// yet), then sends N numbered datagrams through the relay and checks that
// every echo comes back with the same bytes, in order.  pion sends the
// first datagram as a Send indication and binds a channel in the background;
// the rest go as ChannelData.  The client's socket is wrapped so that every
// Send/Data indication and ChannelData frame is counted, and by default the
// run fails unless all four paths were used.
//
// The echo peer runs inside this program (so it can check that datagrams
// come from the relayed address) unless -peer names an external one.
//
// Exit status: 0 all datagrams echoed, 1 loss or protocol error, 2 usage,
// 3 overall timeout.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v2"
)

const magic = "TRNI"

// frameCounters counts what crosses the client's socket to the server.
type frameCounters struct {
	sendInd, chanOut, stunOut atomic.Uint64
	dataInd, chanIn, stunIn   atomic.Uint64
	mu                        sync.Mutex
	channels                  map[uint16]bool
}

func (fc *frameCounters) classify(p []byte, out bool) {
	switch {
	case len(p) >= 4 && p[0]&0xc0 == 0x40:
		if out {
			fc.chanOut.Add(1)
		} else {
			fc.chanIn.Add(1)
		}
		fc.mu.Lock()
		fc.channels[binary.BigEndian.Uint16(p)] = true
		fc.mu.Unlock()
	case len(p) >= 20 && p[0]&0xc0 == 0 &&
		binary.BigEndian.Uint32(p[4:]) == 0x2112A442:
		t := binary.BigEndian.Uint16(p)
		switch {
		case out && t == 0x0016:
			fc.sendInd.Add(1)
		case !out && t == 0x0017:
			fc.dataInd.Add(1)
		case out:
			fc.stunOut.Add(1)
		default:
			fc.stunIn.Add(1)
		}
	}
}

func (fc *frameCounters) channelList() string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var l []int
	for c := range fc.channels {
		l = append(l, int(c))
	}
	sort.Ints(l)
	var s []string
	for _, c := range l {
		s = append(s, fmt.Sprintf("0x%04x", c))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// countingConn is the client's socket with every frame counted.
type countingConn struct {
	net.PacketConn
	fc *frameCounters
}

func (c *countingConn) WriteTo(p []byte, a net.Addr) (int, error) {
	c.fc.classify(p, true)
	return c.PacketConn.WriteTo(p, a)
}

func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(p)
	if n > 0 {
		c.fc.classify(p[:n], false)
	}
	return n, a, err
}

type options struct {
	server, transport, ca, serverName string
	user, password, secret, realm     string
	peer, peerHost                    string
	count, size, window               int
	ttl                               time.Duration
	echoTimeout, timeout, interval    time.Duration
	checkPaths, allowReorder, verbose bool
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.server, "server", "", "TURN server host:port (IPv4)")
	flag.StringVar(&o.transport, "transport", "udp", "udp, tcp or tls")
	flag.StringVar(&o.ca, "ca", "", "CA file to verify the server's TLS certificate")
	flag.StringVar(&o.serverName, "servername", "localhost", "TLS server name")
	flag.StringVar(&o.user, "user", "", "username (with -secret: the id after 'expiry:')")
	flag.StringVar(&o.password, "password", "", "password")
	flag.StringVar(&o.secret, "secret", "", "shared secret: mint TURN REST credentials")
	flag.DurationVar(&o.ttl, "ttl", time.Hour, "lifetime of minted REST credentials")
	flag.StringVar(&o.realm, "realm", "", "realm (default: learnt from the server)")
	flag.StringVar(&o.peer, "peer", "", "external UDP echo peer host:port (default: built in)")
	flag.StringVar(&o.peerHost, "peer-host", "127.0.0.1", "address of the built-in echo peer")
	flag.IntVar(&o.count, "n", 500, "datagrams to send")
	flag.IntVar(&o.size, "size", 120, "datagram payload bytes (>= 16)")
	flag.IntVar(&o.window, "window", 16, "datagrams in flight at most")
	flag.DurationVar(&o.interval, "interval", 0, "pause between datagrams")
	flag.DurationVar(&o.echoTimeout, "echo-timeout", 3*time.Second, "give up after this long without an echo")
	flag.DurationVar(&o.timeout, "timeout", 45*time.Second, "overall time limit")
	flag.BoolVar(&o.checkPaths, "check-paths", true,
		"fail unless Send/Data indications and ChannelData were all used")
	flag.BoolVar(&o.allowReorder, "allow-reorder", false, "do not fail on reordered echoes")
	flag.BoolVar(&o.verbose, "v", false, "pion debug logging")
	flag.Parse()
	if o.server == "" || o.count < 1 || o.size < 16 || o.size > 65000 || o.window < 1 {
		flag.Usage()
		os.Exit(2)
	}
	return o
}

func fail(format string, a ...interface{}) {
	fmt.Printf("pion-client: FAIL "+format+"\n", a...)
	os.Exit(1)
}

func restCredentials(secret, id string, ttl time.Duration) (string, string) {
	user := fmt.Sprintf("%d", time.Now().Add(ttl).Unix())
	if id != "" {
		user += ":" + id
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(user))
	return user, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// dialServer opens the client's socket to the server.
func dialServer(o *options) (net.PacketConn, error) {
	switch o.transport {
	case "udp":
		return net.ListenPacket("udp4", "0.0.0.0:0")
	case "tcp":
		c, err := net.DialTimeout("tcp", o.server, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return turn.NewSTUNConn(c), nil
	case "tls":
		cfg := &tls.Config{ServerName: o.serverName, MinVersion: tls.VersionTLS12}
		if o.ca != "" {
			pem, err := os.ReadFile(o.ca)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificate in %s", o.ca)
			}
		}
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", o.server, cfg)
		if err != nil {
			return nil, err
		}
		return turn.NewSTUNConn(c), nil
	}
	return nil, fmt.Errorf("unknown transport %q", o.transport)
}

func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	return ok1 && ok2 && ua.Port == ub.Port && ua.IP.Equal(ub.IP)
}

// payload builds datagram seq: magic, seq, then bytes derived from seq.
func payload(seq uint32, size int) []byte {
	p := make([]byte, size)
	copy(p, magic)
	binary.BigEndian.PutUint32(p[4:], seq)
	for i := 8; i < size; i++ {
		p[i] = byte(uint32(i)*7 + seq*31)
	}
	return p
}

// echoPeer echoes every datagram and counts those not from the relay.
type echoPeer struct {
	pc      net.PacketConn
	relay   atomic.Value // net.Addr
	echoed  atomic.Uint64
	foreign atomic.Uint64
}

func (e *echoPeer) run() {
	buf := make([]byte, 65536)
	for {
		n, from, err := e.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if r, ok := e.relay.Load().(net.Addr); !ok || !sameAddr(from, r) {
			e.foreign.Add(1)
			fmt.Printf("pion-client: echo peer got a datagram from %s, not the relayed address %v\n", from, r)
			continue
		}
		if _, err := e.pc.WriteTo(buf[:n], from); err == nil {
			e.echoed.Add(1)
		}
	}
}

type stats struct {
	mu                                sync.Mutex
	got                               []bool
	sentAt                            []time.Time
	received, dup, reordered, corrupt int
	foreign                           int
	maxSeq                            int
	rttMin, rttMax, rttSum            time.Duration
	progress                          chan struct{}
}

func main() {
	o := parseFlags()
	time.AfterFunc(o.timeout, func() {
		fmt.Printf("pion-client: FAIL overall timeout of %s\n", o.timeout)
		os.Exit(3)
	})

	username, password := o.user, o.password
	if o.secret != "" {
		username, password = restCredentials(o.secret, o.user, o.ttl)
	}

	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelWarn
	if o.verbose {
		lf.DefaultLogLevel = logging.LogLevelDebug
	}

	base, err := dialServer(o)
	if err != nil {
		fail("connect to %s over %s: %v", o.server, o.transport, err)
	}
	fc := &frameCounters{channels: map[uint16]bool{}}
	conn := &countingConn{PacketConn: base, fc: fc}

	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: o.server,
		TURNServerAddr: o.server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		Realm:          o.realm,
		Software:       "pion-interop-client",
		LoggerFactory:  lf,
	})
	if err != nil {
		fail("new client: %v", err)
	}
	defer client.Close()
	if err = client.Listen(); err != nil {
		fail("listen: %v", err)
	}

	mapped, err := client.SendBindingRequest()
	if err != nil {
		fail("binding request: %v", err)
	}
	relayConn, err := client.Allocate()
	if err != nil {
		fail("allocate: %v", err)
	}
	defer relayConn.Close()
	relayed := relayConn.LocalAddr()
	fmt.Printf("pion-client: transport=%s mapped=%s relayed=%s user=%s\n",
		o.transport, mapped, relayed, username)

	// The echo peer.
	var peer *echoPeer
	var peerAddr net.Addr
	if o.peer != "" {
		if peerAddr, err = net.ResolveUDPAddr("udp", o.peer); err != nil {
			fail("peer address: %v", err)
		}
	} else {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(o.peerHost, "0"))
		if err != nil {
			fail("echo peer: %v", err)
		}
		defer pc.Close()
		peer = &echoPeer{pc: pc}
		peer.relay.Store(relayed)
		peerAddr = pc.LocalAddr()
	}

	// Permission first, then a datagram from the peer: with a permission
	// and no channel the server must deliver it as a Data indication.
	if err = client.CreatePermission(peerAddr); err != nil {
		fail("create permission for %s: %v", peerAddr, err)
	}
	hello := []byte("interop-hello-from-peer")
	if peer != nil {
		if _, err = peer.pc.WriteTo(hello, relayed); err != nil {
			fail("peer hello: %v", err)
		}
		buf := make([]byte, 65536)
		_ = relayConn.SetReadDeadline(time.Now().Add(o.echoTimeout))
		n, from, err := relayConn.ReadFrom(buf)
		if err != nil {
			fail("no datagram from the peer through the relay: %v", err)
		}
		if !sameAddr(from, peerAddr) || !bytes.Equal(buf[:n], hello) {
			fail("peer hello arrived from %s as %q", from, buf[:n])
		}
		_ = relayConn.SetReadDeadline(time.Time{})
		go peer.run()
	}

	st := &stats{
		got:      make([]bool, o.count),
		sentAt:   make([]time.Time, o.count),
		maxSeq:   -1,
		rttMin:   time.Duration(math.MaxInt64),
		progress: make(chan struct{}, o.count+1),
	}
	start := time.Now()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := relayConn.ReadFrom(buf)
			if err != nil {
				return
			}
			now := time.Now()
			st.mu.Lock()
			p := buf[:n]
			switch {
			case !sameAddr(from, peerAddr):
				st.foreign++
			case n < 8 || string(p[:4]) != magic:
				st.corrupt++
			default:
				seq := int(binary.BigEndian.Uint32(p[4:]))
				switch {
				case seq >= o.count || !bytes.Equal(p, payload(uint32(seq), o.size)):
					st.corrupt++
				case st.got[seq]:
					st.dup++
				default:
					st.got[seq] = true
					st.received++
					if seq < st.maxSeq {
						st.reordered++
					} else {
						st.maxSeq = seq
					}
					rtt := now.Sub(st.sentAt[seq])
					st.rttSum += rtt
					if rtt < st.rttMin {
						st.rttMin = rtt
					}
					if rtt > st.rttMax {
						st.rttMax = rtt
					}
					st.progress <- struct{}{}
				}
			}
			st.mu.Unlock()
		}
	}()

	// Send with at most o.window datagrams in flight.
	sent, inflight := 0, 0
	stalled := false
	for seq := 0; seq < o.count && !stalled; seq++ {
		for inflight >= o.window {
			select {
			case <-st.progress:
				inflight--
			case <-time.After(o.echoTimeout):
				stalled = true
			}
			if stalled {
				break
			}
		}
		if stalled {
			break
		}
		st.mu.Lock()
		st.sentAt[seq] = time.Now()
		st.mu.Unlock()
		if _, err = relayConn.WriteTo(payload(uint32(seq), o.size), peerAddr); err != nil {
			fail("send datagram %d: %v", seq, err)
		}
		sent++
		inflight++
		if o.interval > 0 {
			time.Sleep(o.interval)
		}
	}
	for inflight > 0 && !stalled {
		select {
		case <-st.progress:
			inflight--
		case <-time.After(o.echoTimeout):
			stalled = true
		}
	}
	elapsed := time.Since(start)

	st.mu.Lock()
	defer st.mu.Unlock()
	lost := o.count - st.received
	avg := time.Duration(0)
	if st.received > 0 {
		avg = st.rttSum / time.Duration(st.received)
	} else {
		st.rttMin = 0
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }
	fmt.Printf("RESULT client=pion transport=%s sent=%d received=%d lost=%d duplicated=%d "+
		"reordered=%d corrupt=%d foreign=%d rtt_ms=%s/%s/%s elapsed_ms=%d "+
		"send_ind=%d chandata_out=%d data_ind=%d chandata_in=%d channels=%s\n",
		o.transport, sent, st.received, lost, st.dup, st.reordered, st.corrupt,
		st.foreign, ms(st.rttMin), ms(avg), ms(st.rttMax), elapsed.Milliseconds(),
		fc.sendInd.Load(), fc.chanOut.Load(), fc.dataInd.Load(), fc.chanIn.Load(),
		fc.channelList())

	var problems []string
	if lost > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d datagrams lost", lost, o.count))
	}
	if st.dup+st.corrupt+st.foreign > 0 {
		problems = append(problems, "duplicated, corrupt or foreign datagrams")
	}
	if st.reordered > 0 && !o.allowReorder {
		problems = append(problems, fmt.Sprintf("%d datagrams reordered", st.reordered))
	}
	if peer != nil && peer.foreign.Load() > 0 {
		problems = append(problems, "the peer saw datagrams not from the relayed address")
	}
	if o.checkPaths {
		if fc.sendInd.Load() == 0 || fc.chanOut.Load() == 0 || fc.chanIn.Load() == 0 ||
			(peer != nil && fc.dataInd.Load() == 0) {
			problems = append(problems, "not every path was used (Send indication, "+
				"Data indication, ChannelData both ways)")
		}
	}
	if len(problems) > 0 {
		fail("%s", strings.Join(problems, "; "))
	}
	fmt.Println("pion-client: PASS")
}
