# A TCP echo server on 127.0.0.1 for port forwarding tests: every connection gets back what
# it sends. Plain PowerShell runspaces (no compiled helper), one per connection.
Set-StrictMode -Version 3.0

function Start-SSMTestEchoServer {
    <#
    .SYNOPSIS
    Starts an echo server on a free loopback port; returns an object with its Port.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([pscustomobject])]
    param()
    if (-not $PSCmdlet.ShouldProcess('127.0.0.1', 'Start a TCP echo server')) { return }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $pool = [runspacefactory]::CreateRunspacePool(1, 64)
    $pool.Open()
    $acceptor = [powershell]::Create()
    $acceptor.RunspacePool = $pool
    $null = $acceptor.AddScript({
            param($Listener, $Pool)
            $echo = {
                param($Client)
                try {
                    $stream = $Client.GetStream()
                    $buffer = [byte[]]::new(65536)
                    while (($read = $stream.Read($buffer, 0, $buffer.Length)) -gt 0) {
                        $stream.Write($buffer, 0, $read)
                    }
                } catch {
                    $null = $_
                } finally {
                    $Client.Dispose()
                }
            }
            while ($true) {
                try { $client = $Listener.AcceptTcpClient() } catch { break }
                $worker = [powershell]::Create()
                $worker.RunspacePool = $Pool
                $null = $worker.AddScript($echo).AddArgument($client).BeginInvoke()
            }
        }).AddArgument($listener).AddArgument($pool)
    $null = $acceptor.BeginInvoke()
    [pscustomobject]@{
        PSTypeName = 'SSMSession.Test.EchoServer'
        Port       = $listener.LocalEndpoint.Port
        Listener   = $listener
        Pool       = $pool
        Acceptor   = $acceptor
    }
}

function Stop-SSMTestEchoServer {
    <#
    .SYNOPSIS
    Stops an echo server started by Start-SSMTestEchoServer.

    .PARAMETER Server
    The object Start-SSMTestEchoServer returned.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)]
        [AllowNull()]
        [pscustomobject] $Server
    )
    if ($null -eq $Server -or -not $PSCmdlet.ShouldProcess("127.0.0.1:$($Server.Port)", 'Stop the echo server')) { return }
    $Server.Listener.Stop()
    $Server.Acceptor.Dispose()
    $Server.Pool.Dispose()
}

function Test-SSMTestEcho {
    <#
    .SYNOPSIS
    Sends bytes to 127.0.0.1:Port, reads the echo, and returns whether it came back intact.

    .PARAMETER Port
    The local port (e.g. a forward's LocalPort).

    .PARAMETER Length
    How many bytes to send.

    .PARAMETER Seed
    Varies the bytes.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory)]
        [int] $Port,

        [int] $Length = 65536,

        [int] $Seed = 1
    )
    $data = [byte[]]::new($Length)
    [System.Random]::new($Seed).NextBytes($data)
    $client = [System.Net.Sockets.TcpClient]::new()
    try {
        $client.Connect([System.Net.IPAddress]::Loopback, $Port)
        $client.ReceiveTimeout = 30000
        $stream = $client.GetStream()
        # Written in the background: the echo flows back while the rest is still sent.
        $writing = $stream.WriteAsync($data, 0, $data.Length)
        $received = [byte[]]::new($Length)
        $offset = 0
        while ($offset -lt $Length) {
            $read = $stream.Read($received, $offset, $Length - $offset)
            if ($read -le 0) { break }
            $offset += $read
        }
        $null = $writing.Wait(30000)
        $offset -eq $Length -and [System.Linq.Enumerable]::SequenceEqual($data, $received)
    } finally {
        $client.Dispose()
    }
}

Export-ModuleMember -Function Start-SSMTestEchoServer, Stop-SSMTestEchoServer, Test-SSMTestEcho
