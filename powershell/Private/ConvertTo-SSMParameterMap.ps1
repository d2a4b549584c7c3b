function ConvertTo-SSMParameterMap {
    <#
    .SYNOPSIS
    Turns the -Parameter hashtable into the API's map of name to list of strings.

    .DESCRIPTION
    Keys become strings. A string value becomes a one-element list; any other enumerable
    becomes one string per item; other scalars (numbers, booleans) are converted with the
    invariant culture, so @{ portNumber = 80 } means '80'. A $null value or item is
    rejected with an ArgumentException naming the key, before anything is sent.

    .PARAMETER Parameter
    The value bound to -Parameter.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $Parameter
    )

    $map = @{}
    foreach ($key in $Parameter.Keys) {
        $name = [string]$key
        $value = $Parameter[$key]
        # @() keeps a string or scalar whole, enumerates lists, and keeps a lone $null as
        # one element so it is reported below.
        $items = @($value)
        $list = [System.Collections.Generic.List[string]]::new()
        foreach ($item in $items) {
            if ($null -eq $item) {
                throw [System.ArgumentException]::new("The value of parameter '$name' is null; document parameters take strings.", 'Parameter')
            }
            $list.Add([System.Convert]::ToString($item, [System.Globalization.CultureInfo]::InvariantCulture))
        }
        $map[$name] = $list.ToArray()
    }
    $map
}
