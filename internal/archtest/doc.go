// Package archtest holds tests of the code's shape rather than its
// behaviour: which packages may import which.
package archtest
