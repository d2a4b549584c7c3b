#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# What ships in the native library, checked the way cargo-deny's licence check would: every
# crate linked into libssmsession (normal dependencies of ssmsession-ffi, transitively) must
# be licensed under at least one allowed licence; the lock file must match the manifests.
# Reads `cargo metadata` offline: no network.

Describe 'supply chain of the native library' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        # Permissive licences only; copyleft ones are allowed only as one choice of an OR.
        $allowed = @(
            'MIT', 'MIT-0', 'Apache-2.0', 'Apache-2.0 WITH LLVM-exception', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause',
            'Unicode-3.0', 'Unicode-DFS-2016', 'Zlib', 'CC0-1.0', 'Unlicense', 'BSL-1.0', 'OpenSSL'
        )
        # An SPDX expression is acceptable when its OR-alternatives include one whose
        # AND-parts are all allowed (parentheses handled recursively; "/" is an old OR).
        $isAcceptable = $null
        $isAcceptable = {
            param([string] $Expression)
            $text = $Expression.Trim().Replace('/', ' OR ')
            while ($text.StartsWith('(') -and $text.EndsWith(')')) {
                $depth = 0; $wraps = $true
                for ($i = 0; $i -lt $text.Length - 1; $i++) {
                    if ($text[$i] -eq '(') { $depth++ } elseif ($text[$i] -eq ')') { $depth-- }
                    if ($depth -eq 0) { $wraps = $false; break }
                }
                if (-not $wraps) { break }
                $text = $text.Substring(1, $text.Length - 2).Trim()
            }
            $split = {
                param([string] $Text, [string] $Operator)
                $parts = [System.Collections.Generic.List[string]]::new(); $depth = 0; $start = 0
                $token = " $Operator "
                for ($i = 0; $i -lt $Text.Length; $i++) {
                    if ($Text[$i] -eq '(') { $depth++ } elseif ($Text[$i] -eq ')') { $depth-- }
                    elseif ($depth -eq 0 -and $i + $token.Length -le $Text.Length -and $Text.Substring($i, $token.Length) -eq $token) {
                        $parts.Add($Text.Substring($start, $i - $start)); $start = $i + $token.Length; $i += $token.Length - 1
                    }
                }
                $parts.Add($Text.Substring($start))
                , $parts
            }
            $alternatives = & $split $text 'OR'
            if ($alternatives.Count -gt 1) {
                return [bool](@($alternatives | Where-Object { & $isAcceptable $_ }).Count)
            }
            $requirements = & $split $text 'AND'
            if ($requirements.Count -gt 1) {
                return -not @($requirements | Where-Object { -not (& $isAcceptable $_) }).Count
            }
            $text -in $allowed
        }

        Push-Location $repositoryRoot
        try {
            $metadata = & cargo metadata --format-version 1 --offline --locked 2>&1
            $metadataExit = $LASTEXITCODE
        } finally {
            Pop-Location
        }
        $graph = ($metadata | Where-Object { $_ -is [string] -and $_.StartsWith('{') }) | ConvertFrom-Json -Depth 64
        $packages = @{}
        foreach ($package in $graph.packages) { $packages[$package.id] = $package }
        $nodes = @{}
        foreach ($node in $graph.resolve.nodes) { $nodes[$node.id] = $node }
        $root = ($graph.packages | Where-Object name -eq 'ssmsession-ffi').id
        # Normal (linked) dependencies only: dev and build dependencies do not ship.
        $shipped = [System.Collections.Generic.HashSet[string]]::new()
        $queue = [System.Collections.Generic.Queue[string]]::new()
        $queue.Enqueue($root)
        while ($queue.Count -gt 0) {
            foreach ($dependency in $nodes[$queue.Dequeue()].deps) {
                $linked = @($dependency.dep_kinds | Where-Object { $null -eq $_.kind }).Count -gt 0
                if ($linked -and $shipped.Add($dependency.pkg)) { $queue.Enqueue($dependency.pkg) }
            }
        }
        $workspace = @($graph.workspace_members)
        $thirdParty = @($shipped | Where-Object { $_ -notin $workspace } | ForEach-Object { $packages[$_] })
    }

    It 'reads the dependency graph offline with the committed lock file' {
        $metadataExit | Should -Be 0 -Because ($metadata -join [System.Environment]::NewLine)
        $thirdParty.Count | Should -BeGreaterThan 100
    }

    It 'knows how to read licence expressions' {
        & $isAcceptable 'MIT OR Apache-2.0' | Should -BeTrue
        & $isAcceptable 'MIT/Apache-2.0' | Should -BeTrue
        & $isAcceptable '(MIT OR Apache-2.0) AND Unicode-3.0' | Should -BeTrue
        & $isAcceptable 'MIT OR Apache-2.0 OR LGPL-2.1-or-later' | Should -BeTrue
        & $isAcceptable 'GPL-3.0-only' | Should -BeFalse
        & $isAcceptable 'MIT AND GPL-2.0-only' | Should -BeFalse
        & $isAcceptable 'ISC AND (Apache-2.0 OR ISC) AND BSD-3-Clause' | Should -BeTrue
    }

    It 'links only permissively licensed crates into the library' {
        $refused = foreach ($package in $thirdParty) {
            $license = [string]$package.license
            if (-not $license -or -not (& $isAcceptable $license)) { "$($package.name) $($package.version): '$license'" }
        }
        $refused | Should -BeNullOrEmpty
    }
}
