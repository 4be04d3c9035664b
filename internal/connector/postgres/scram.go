package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

const scramIterations = 4096 // PostgreSQL's default scram_iterations

// passwordClause renders "PASSWORD <literal>" for CREATE/ALTER ROLE. Role
// DDL takes no parameters, so the value is a literal in the statement text,
// which servers log (log_statement=ddl) and pg_stat_statements keeps. For an
// ASCII password we send the SCRAM-SHA-256 verifier instead, as psql's
// \password does; PostgreSQL stores a verifier as is. Non-ASCII passwords
// need SASLprep, which the server must do, so they go as plaintext.
// The returned secret is what must be scrubbed from error messages.
func passwordClause(password string) (clause, secret string, err error) {
	if password == "" {
		return "", "", fmt.Errorf("%w: the password is empty (PostgreSQL would clear it; leave Password nil for no password)", ErrInvalidSpec)
	}
	if strings.IndexByte(password, 0) >= 0 {
		return "", "", fmt.Errorf("%w: the password contains a NUL byte", ErrInvalidSpec)
	}
	if !isASCII(password) {
		return "PASSWORD " + literal(password), password, nil
	}
	v, err := scramVerifier(password)
	if err != nil {
		return "", "", err
	}
	return "PASSWORD " + literal(v), v, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scramVerifier computes PostgreSQL's SCRAM-SHA-256 verifier (RFC 5802/7677):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. For ASCII
// input SASLprep is the identity (or rejected, in which case the server
// also uses the raw bytes), so this matches what the server computes.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
