{
  # Nix is optional: the README's go tool task commands need only Go, Node.js
  # and (for browser tests) Chromium. This flake was written by convention and
  # not run on the machines this project is built on, which have no Nix.
  description = "Ironstar: event-sourced, server-driven Go web app template";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      devShells = forAllSystems (pkgs: {
        # mkShell's stdenv brings a C/C++ compiler and its C++ library, which
        # the analytics engine (cmd/analytics: DuckDB through cgo) needs;
        # the web app (cmd/app) is pure Go.
        default = pkgs.mkShell {
          packages = with pkgs; [ go nodejs_20 chromium nats-server natscli ];
          # The e2e tests look for Chromium here before searching PATH.
          CHROMIUM = "${pkgs.chromium}/bin/chromium";
        };
      });

      packages = forAllSystems (pkgs: {
        default = pkgs.buildGoModule {
          pname = "ironstar";
          version = "0.1.0";
          src = ./.;
          # The web app, pure Go; the analytics engine (cmd/analytics, cgo)
          # is built by go tool task build:engine.
          subPackages = [ "cmd/app" ];
          env.CGO_ENABLED = "0";

          # A module cache rather than a vendor directory: cmd/build copies the
          # Datastar client out of its Go module with `go mod download`.
          proxyVendor = true;
          # Replace both hashes with the ones the first `nix build` prints.
          vendorHash = pkgs.lib.fakeHash;
          npmDeps = pkgs.fetchNpmDeps {
            src = ./.;
            hash = pkgs.lib.fakeHash;
          };
          nativeBuildInputs = [ pkgs.nodejs_20 pkgs.npmHooks.npmConfigHook ];

          # templ code and the embedded, content-hashed assets.
          preBuild = ''
            go tool templ generate
            go run ./cmd/build
          '';
          doCheck = false; # the tests need Chromium and a writable HOME

          meta.mainProgram = "app";
        };
      });
    };
}
